//! Attacks on a running feedloom, from a hostile upstream or a hostile
//! client, each against the real binary over real sockets: each must leave
//! the server up, its memory and connections bounded, and nothing stored
//! lost or leaked.
//!
//! (Redirects into the operator's network need a public address to start
//! from, which this machine has not; `src/fetch.rs` tests them with real
//! sockets and the public/private decision taken as given.)

use feedloom_testkit as common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

/// `n` elements nested inside each other, in `ns:el` form.
fn nested_xml(n: usize) -> String {
    format!("{}{}", "<x:a>".repeat(n), "</x:a>".repeat(n))
}

fn rss_with_item(item_body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:x="urn:x"><channel><title>t</title><link>http://example.org/</link><description>d</description>
<item><title>Hostile item</title><link>http://example.org/hostile</link>{item_body}</item>
</channel></rss>"#
    )
}

/// A metric's value from `/metrics` text.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
}

fn status_of<'a>(status: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no source {id} in {status}"))
}

#[test]
fn documents_nested_200000_deep_are_refused_and_nothing_is_lost() {
    let (ws, up) = fixture_workspace();
    ws.poll_ok();
    let deep = 200_000;
    // The same sources now serve 2 MB documents nested 200,000 deep: XML
    // extension elements (which the rss crate parsed recursively, aborting
    // the process), JSON, and HTML.
    up.set(
        "/arxiv.rss",
        Reply::ok("application/rss+xml", rss_with_item(&nested_xml(deep))),
    );
    up.set(
        "/lab.atom",
        Reply::ok(
            "application/atom+xml",
            format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:x="urn:x"><title>t</title><id>urn:t</id><updated>2026-01-01T00:00:00Z</updated><entry><title>e</title><id>urn:e</id><updated>2026-01-01T00:00:00Z</updated>{}</entry></feed>"#,
                nested_xml(deep)
            ),
        ),
    );
    up.set(
        "/robots.json",
        Reply::ok(
            "application/feed+json",
            format!(
                r#"{{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{{"id":"1","x":{}{}}}]}}"#,
                "[".repeat(deep),
                "]".repeat(deep)
            ),
        ),
    );
    up.set(
        "/blog/",
        Reply::ok(
            "text/html",
            format!(
                "<html><body>{}<article class=post><h2 class=post-title>x</h2></article>",
                // Each stray `</span>` closes nothing: the `<time>`s nest.
                "<time x>a</span>".repeat(deep)
            ),
        ),
    );
    // A well-formed feed whose summary is HTML nested 10,000 deep (within
    // the summary's size cap): kept, as its text (html5ever's cost grows
    // with the square of the depth).
    up.set(
        "/group.rdf",
        Reply::ok(
            "application/rss+xml",
            rss_with_item(&format!(
                "<description><![CDATA[{}deep text]]></description>",
                "<div><b>".repeat(5_000)
            )),
        ),
    );
    // The poll fails for those sources, and only for them: an exit, not
    // an abort.
    let out = ws.run(&["poll", "--once"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = ws.serve();
    assert_eq!(server.get("/healthz").status, 200, "the server is up");
    let status: serde_json::Value = serde_json::from_slice(&server.get("/status").body).unwrap();
    for id in ["arxiv", "lab", "robots", "blog"] {
        let s = status_of(&status, id);
        assert_eq!(s["last_error"]["kind"], "too_deep", "{id}: {s}");
        let message = s["last_error"]["message"].as_str().unwrap();
        assert!(message.contains("nested deeper than 256"), "{message}");
    }
    assert!(status_of(&status, "group")["last_error"].is_null());
    // Every entry stored before is still served, plus the deep-summary one.
    let feed = parse_feed(&server.get("/all.atom?limit=100").body);
    assert_eq!(feed.entries.len(), FIXTURE_ENTRIES + 1);
    let hostile = feed
        .entries
        .iter()
        .find(|e| e.title.as_ref().unwrap().content == "Hostile item")
        .expect("the deep-summary item is stored");
    let summary = &hostile.summary.as_ref().unwrap().content;
    assert!(
        summary.contains("deep text") && !summary.contains("<div"),
        "{summary}"
    );
}

#[test]
fn quadratic_inputs_are_linear_and_entries_are_capped() {
    let (ws, up) = fixture_workspace();
    // 100,000 authors, a 1 MB title, a 4 MB description of `<script`s (each
    // once made the text scan lower-case the rest of the string).
    let creators: String = (0..100_000)
        .map(|i| format!("<dc:creator>Author {i}</dc:creator>"))
        .collect();
    let item = format!(
        "<title>{}</title><description><![CDATA[<p>start</p>{}]]></description>{creators}",
        "word ".repeat(200_000),
        "<script>x".repeat(400_000),
    );
    let feed = rss_with_item(&item).replace(
        "<rss version=\"2.0\"",
        "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"",
    );
    up.set("/arxiv.rss", Reply::ok("application/rss+xml", feed));
    let started = Instant::now();
    ws.poll_ok();
    // Generous: the quadratic version took minutes.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let server = ws.serve();
    let json: serde_json::Value =
        serde_json::from_slice(&server.get("/all.json?limit=100").body).unwrap();
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["url"] == "http://example.org/hostile")
        .expect("the hostile item is stored, cut to size");
    let title = item["title"].as_str().unwrap();
    assert!(
        title.chars().count() <= 1_001 && title.ends_with('…'),
        "{}",
        title.len()
    );
    let authors = item["authors"].as_array().unwrap();
    assert_eq!(authors.len(), 100);
    // The item's elements past its bound (1,000) were never read: its
    // title, link, second title and description take four, so 996
    // creators reach normalizing, which keeps 99 and counts the other 897.
    assert_eq!(authors[99]["name"], "and 897 more");
    let content = item["content_html"].as_str().unwrap_or_default();
    assert!(content.len() < 100_000, "{}", content.len());
}

/// Opens a connection that sends `bytes` (maybe nothing) and then stays
/// silent.
fn silent(addr: std::net::SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(bytes).unwrap();
    s
}

/// Whether the server closes `conn` within `within` (whatever it sends
/// first: an HTTP/2 SETTINGS frame, a 408).
fn closed(conn: &mut TcpStream, within: Duration) -> bool {
    conn.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Asks `/healthz` on a new connection, waiting at most `within`; asserts
/// it was answered, and says how long that took.
fn healthz_answered(addr: std::net::SocketAddr, within: Duration) -> Duration {
    let started = Instant::now();
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(within)).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let waited = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "{answer:?} after {waited:?}"
    );
    waited
}

/// HTTP/2's client preface and an empty SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

#[test]
fn silent_connections_are_closed_after_the_first_request_deadline() {
    let (ws, _up) = fixture_workspace();
    // A slot to spare, so nothing needs the silent ones' slots.
    let server = ws.serve_with(&["--max-connections", "5"]);
    server.wait_ready();
    // Connections that never send a complete request: two that send
    // nothing, one HTTP/2 preface, one half an HTTP/1 head.
    let started = Instant::now();
    let mut held = [
        silent(server.addr, b""),
        silent(server.addr, b""),
        silent(server.addr, H2_PREFACE),
        silent(server.addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"),
    ];
    // They are closed 10 s after they were accepted (the half HTTP/1 head
    // by hyper's own header timeout, uncounted).
    let timeouts = || {
        metric(
            &server.get("/metrics").text(),
            "feedloom_connection_timeouts_total{reason=\"first_request\"}",
        )
    };
    while timeouts() < 3.0 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{}",
            timeouts()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(started.elapsed() >= Duration::from_secs(9));
    for conn in &mut held {
        assert!(closed(conn, Duration::from_secs(5)));
    }
    let metrics = server.get("/metrics").text();
    assert_eq!(metric(&metrics, "feedloom_connections_limit"), 5.0);
    assert_eq!(metric(&metrics, "feedloom_connections_shed_total"), 0.0);
}

/// Every slot held by connections that have not sent a request (twice
/// over: 8 against `--max-connections 4`): a client that sends one is
/// served at once, the oldest silent connection closed to make room for
/// it, instead of waiting out the first-request deadline of each batch.
#[test]
fn silent_connections_make_room_for_a_real_request() {
    let (ws, _up) = fixture_workspace();
    let server = ws.serve_with(&["--max-connections", "4"]);
    server.wait_ready();
    let mut held: Vec<TcpStream> = (0..8)
        .map(|i| {
            let bytes: &[u8] = match i % 4 {
                0 | 1 => b"",
                2 => H2_PREFACE,
                _ => b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
            };
            silent(server.addr, bytes)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let waited = healthz_answered(server.addr, Duration::from_secs(5));
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    // The oldest were closed to make room: the first five (four for the
    // later silent ones, one for the request).
    for (i, conn) in held.iter_mut().enumerate().take(5) {
        assert!(
            closed(conn, Duration::from_secs(1)),
            "connection {i} still open"
        );
    }
    let metrics = server.get("/metrics").text();
    assert!(
        metric(&metrics, "feedloom_connections_shed_total") >= 5.0,
        "{metrics}"
    );
    assert_eq!(metric(&metrics, "feedloom_connections_limit"), 4.0);
}

/// Every slot held by keep-alive connections that each send a cheap
/// request now and then: a new client is still served, the connection
/// idle the longest closed to make room.
#[test]
fn keep_alive_connections_cannot_hold_every_slot() {
    let (ws, _up) = fixture_workspace();
    let server = ws.serve_with(&["--max-connections", "4"]);
    server.wait_ready();
    let ask = |conn: &mut TcpStream| {
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 512];
        let n = conn.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    };
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut c = TcpStream::connect(server.addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            ask(&mut c);
            std::thread::sleep(Duration::from_millis(50));
            c
        })
        .collect();
    // The newest three ask again: the first is idle the longest.
    for c in held.iter_mut().skip(1) {
        ask(c);
    }
    let waited = healthz_answered(server.addr, Duration::from_secs(5));
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert!(
        closed(&mut held[0], Duration::from_secs(1)),
        "the longest idle was kept"
    );
    let metrics = server.get("/metrics").text();
    assert!(
        metric(&metrics, "feedloom_connections_shed_total") >= 1.0,
        "{metrics}"
    );
}

/// Every slot held by WebSub forms that never finish arriving: each is
/// answered 408 after 10 s, and its slot freed.
#[test]
fn forms_that_never_finish_cannot_hold_every_slot() {
    let (ws, _up) = fixture_workspace();
    let server = ws.serve_with(&["--max-connections", "4", "--websub-allow-private"]);
    server.wait_ready();
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            silent(
                server.addr,
                b"POST /websub HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\nhub.mode=sub",
            )
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let waited = healthz_answered(server.addr, Duration::from_secs(20));
    assert!(waited < Duration::from_secs(15), "{waited:?}");
    let mut first = String::new();
    held[0]
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = held[0].read_to_string(&mut first);
    assert!(first.starts_with("HTTP/1.1 408"), "{first:?}");
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let (ws, _up) = fixture_workspace();
    let server = ws.serve_with(&["--idle-timeout", "2s"]);
    server.wait_ready();
    let mut conn = TcpStream::connect(server.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = conn.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Then nothing: the server closes the kept-alive connection.
    let started = Instant::now();
    let n = conn.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed, not answered");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
    let metrics = server.get("/metrics").text();
    assert!(
        metric(
            &metrics,
            "feedloom_connection_timeouts_total{reason=\"idle\"}"
        ) >= 1.0
    );
}

#[test]
fn client_chosen_variants_stay_within_the_cache_budget() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve_with(&["--cache-bytes", "64KiB"]);
    server.wait_ready();
    let renders = |m: &str| metric(m, "feedloom_renders_total");
    // The default documents are pinned: served from memory, not rendered.
    let before = server.get("/metrics").text();
    assert_eq!(server.get("/all.atom").status, 200);
    let after = server.get("/metrics").text();
    assert_eq!(renders(&before), renders(&after));
    // 90 variants, every ?limit= of every format.
    for limit in 1..=30 {
        for ext in ["rss", "atom", "json"] {
            let r = server.get(&format!("/all.{ext}?limit={limit}"));
            assert_eq!(r.status, 200);
        }
    }
    let m = server.get("/metrics").text();
    let bytes = metric(&m, "feedloom_cache_variant_bytes");
    assert!(bytes <= 65536.0, "{bytes}");
    assert!(metric(&m, "feedloom_cache_evictions_total") > 0.0, "{m}");
    assert_eq!(metric(&m, "feedloom_cache_variant_budget_bytes"), 65536.0);
    assert_eq!(metric(&m, "feedloom_renders_limit"), 2.0);
    // ...and the default documents were never evicted by them.
    let before = renders(&m);
    for ext in ["rss", "atom", "json"] {
        assert_eq!(server.get(&format!("/all.{ext}")).status, 200);
    }
    assert_eq!(renders(&server.get("/metrics").text()), before);
}

#[test]
fn public_pages_show_no_secrets() {
    let (ws, up) = fixture_workspace();
    up.set(
        "/loop",
        Reply::status(302, "").with_header("Location", "/loop?token=SECRET123"),
    );
    up.set(
        "/loop?token=SECRET123",
        Reply::status(302, "").with_header("Location", "/loop?token=SECRET123"),
    );
    up.set(
        "/aws",
        Reply::ok("text/plain", "AKIAIOSFODNN7EXAMPLE secret key material"),
    );
    ws.write(
        "more.toml",
        &format!(
            "[[source]]\nid = \"looping\"\nkind = \"feed\"\nurl = \"{}\"\n\n[[source]]\nid = \"leaky\"\nkind = \"feed\"\nurl = \"{}\"\n",
            up.url("/loop?token=SECRET123"),
            up.url("/aws"),
        ),
    );
    let server = ws.serve();
    server.wait_ready();
    let index = server.get("/").text();
    assert!(index.contains("failing"), "{index}");
    let status = server.get("/status").text();
    for page in [&index, &status] {
        assert!(!page.contains("SECRET123"), "{page}");
        assert!(!page.contains("AKIA"), "{page}");
    }
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(
        status_of(&status, "looping")["last_error"]["kind"],
        "redirect"
    );
    assert_eq!(
        status_of(&status, "leaky")["last_error"]["kind"],
        "not_a_feed"
    );
}

#[test]
fn one_source_cannot_rewrite_another_sources_entries() {
    let (ws, up) = fixture_workspace();
    ws.write(
        "arxiv-topic.toml",
        "[[topic]]\nid = \"arxiv-only\"\ntitle = \"arXiv\"\nsources = [\"arxiv\"]\n",
    );
    ws.poll_ok();
    let server = ws.serve();
    let before = parse_feed(&server.get("/arxiv-only.atom?limit=100").body);
    drop(server);
    let victim = before.entries[0].clone();
    let victim_link = victim.links[0].href.clone();
    // A feed claims the same paper (its arXiv link) with a longer,
    // phishing copy.
    up.set(
        "/hostile.rss",
        Reply::ok(
            "application/rss+xml",
            format!(
                r#"<?xml version="1.0"?><rss version="2.0"><channel><title>h</title><link>http://evil.example/</link><description>d</description>
<item><title>PHISHING: verify your account now, a much longer and more attractive title</title>
<link>{victim_link}</link><guid isPermaLink="false">evil-1</guid>
<description>PHISHING {}</description></item></channel></rss>"#,
                "lorem ipsum ".repeat(500)
            ),
        ),
    );
    ws.write(
        "hostile.toml",
        &format!(
            "[[source]]\nid = \"hostile\"\nkind = \"feed\"\nurl = \"{}\"\n",
            up.url("/hostile.rss")
        ),
    );
    ws.poll_ok();
    let server = ws.serve();
    let after = parse_feed(&server.get("/arxiv-only.atom?limit=100").body);
    let entry = after
        .entries
        .iter()
        .find(|e| e.id == victim.id)
        .expect("same entry");
    let text = String::from_utf8_lossy(&server.get("/arxiv-only.atom?limit=100").body).into_owned();
    assert!(!text.contains("PHISHING"), "the hostile copy took over");
    assert_eq!(entry.title, victim.title);
    assert_eq!(entry.links[0].href, victim_link);
}

#[test]
fn forwarded_hosts_outside_the_allowlist_are_ignored() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve_with(&[
        "--trust-proxy",
        "--base-url",
        "https://feeds.example.org/f/",
        "--public-host",
        "mirror.example.org",
    ]);
    let get = |host: &str| {
        http(
            server.addr,
            "GET",
            "/all.atom",
            &[("X-Forwarded-Host", host), ("X-Forwarded-Proto", "https")],
        )
    };
    let spoofed = get("evil.example");
    assert_eq!(spoofed.status, 200);
    let text = spoofed.text();
    assert!(!text.contains("evil.example"), "{text}");
    assert!(text.contains("https://feeds.example.org/f/all.atom"));
    let vary = spoofed
        .header("vary")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        vary.contains("x-forwarded-host") && vary.contains("accept-encoding"),
        "{vary}"
    );
    // An allowed public host is honoured.
    assert!(get("mirror.example.org")
        .text()
        .contains("https://mirror.example.org/f/all.atom"));
}

#[test]
fn every_response_says_nosniff_and_pages_carry_a_policy() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve();
    for path in [
        "/",
        "/all.html",
        "/all.atom",
        "/healthz",
        "/nope.rss",
        "/metrics",
    ] {
        let r = server.get(path);
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    for path in ["/", "/all.html"] {
        let r = server.get(path);
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("script-src"), "{csp}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    }
}

#[test]
fn served_paths_cannot_be_topic_ids() {
    let (ws, _up) = fixture_workspace();
    ws.write("clash.toml", "[[topic]]\nid = \"index\"\ntitle = \"x\"\n");
    let out = ws.run(&["check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("clash.toml") && err.contains("topic `index`") && err.contains("reserved"),
        "{err}"
    );
}

#[test]
fn upstream_numbers_cannot_overflow() {
    let (ws, up) = fixture_workspace();
    up.set(
        "/arxiv.rss",
        Reply::ok(
            "application/rss+xml",
            rss_with_item("").replace(
                "<description>d</description>",
                "<description>d</description><ttl>18446744073709551615</ttl>",
            ),
        ),
    );
    ws.poll_ok();
}

#[cfg(unix)]
#[test]
fn export_never_writes_through_a_planted_symlink() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let out = ws.dir.path().join("site");
    std::fs::create_dir_all(&out).unwrap();
    let victim = ws.dir.path().join("victim.txt");
    std::fs::write(&victim, "untouched").unwrap();
    // Links where export writes its files and where it used to put its
    // temporary ones.
    std::os::unix::fs::symlink(&victim, out.join("all.atom")).unwrap();
    std::os::unix::fs::symlink(&victim, out.join("all.tmp-export")).unwrap();
    let res = ws.run(&["export", out.to_str().unwrap()]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    let atom = std::fs::read_to_string(out.join("all.atom")).unwrap();
    assert!(atom.contains("<feed"), "the link was replaced by the file");
    assert!(!std::fs::symlink_metadata(out.join("all.atom"))
        .unwrap()
        .file_type()
        .is_symlink());
}

/// One HTTP/2 frame.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

#[test]
fn http2_rapid_reset_floods_are_cut_off() {
    let (ws, _up) = fixture_workspace();
    let server = ws.serve();
    server.wait_ready();
    // GET http://…/healthz (HPACK: indexed :method GET, :scheme http,
    // literal :path).
    let mut block = vec![0x82, 0x86, 0x04, 8];
    block.extend_from_slice(b"/healthz");
    // First the control: one such request is answered (a HEADERS frame
    // on stream 1).
    let mut one = TcpStream::connect(server.addr).unwrap();
    one.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = H2_PREFACE.to_vec();
    req.extend(h2_frame(1, 0x5, 1, &block));
    one.write_all(&req).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let answered = loop {
        let n = one.read(&mut buf).unwrap_or(0);
        assert!(n > 0, "no answer");
        got.extend_from_slice(&buf[..n]);
        let mut at = 0;
        let mut found = false;
        while at + 9 <= got.len() {
            let len = u32::from_be_bytes([0, got[at], got[at + 1], got[at + 2]]) as usize;
            let stream = u32::from_be_bytes([got[at + 5], got[at + 6], got[at + 7], got[at + 8]]);
            found |= got[at + 3] == 1 && stream == 1;
            at += 9 + len;
        }
        if found {
            break true;
        }
    };
    assert!(answered);
    // Then each request is reset (RST_STREAM, CANCEL) as soon as it is
    // sent, 1,000 times (CVE-2023-44487).
    let mut conn = TcpStream::connect(server.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut flood = H2_PREFACE.to_vec();
    for i in 0..1000u32 {
        let stream = 2 * i + 1;
        flood.extend(h2_frame(1, 0x5, stream, &block));
        flood.extend(h2_frame(3, 0, stream, &8u32.to_be_bytes()));
    }
    // The server may close before the whole flood is written.
    let _ = conn.write_all(&flood);
    let mut seen = Vec::new();
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    // Walk the frames the server sent: a GOAWAY (type 7) ends it.
    let mut at = 0;
    let mut goaway = None;
    while at + 9 <= seen.len() {
        let len = u32::from_be_bytes([0, seen[at], seen[at + 1], seen[at + 2]]) as usize;
        if seen[at + 3] == 7 && at + 9 + 8 <= seen.len() {
            let p = &seen[at + 9..];
            goaway = Some(u32::from_be_bytes([p[4], p[5], p[6], p[7]]));
        }
        at += 9 + len;
    }
    // ENHANCE_YOUR_CALM (0xb) or PROTOCOL_ERROR: either way, closed.
    assert!(goaway.is_some_and(|code| code != 0), "{goaway:?}");
    assert_eq!(server.get("/healthz").status, 200, "the server serves on");
}

/// Full-text article links and redirects name hosts a stranger chooses:
/// the fetcher keeps the state of at most `MAX_HOSTS` of them, forgetting
/// the idle ones, while the operator's own hosts (and a back-off one of
/// them asked for) are kept.
#[test]
fn hosts_only_links_lead_to_are_forgotten_past_the_bound() {
    use feedloom::fetch::{FetchRequest, Fetcher, HostPolicy, MAX_HOSTS};
    let up = Upstream::start();
    up.set(
        "/busy",
        Reply::status(429, "slow down").with_header("Retry-After", "3600"),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let own = std::collections::HashMap::from([(
        "127.0.0.1".to_string(),
        HostPolicy {
            min_spacing: Duration::ZERO,
            ..Default::default()
        },
    )]);
    let fetcher = Fetcher::new(own).unwrap();
    let fetch = |url: &str| {
        let url = url::Url::parse(url).unwrap();
        rt.block_on(fetcher.fetch(&FetchRequest::new(&url)))
    };
    // The operator's host asks for an hour's rest.
    assert!(fetch(&up.url("/busy")).is_err());
    assert!(fetcher.blocked_until("127.0.0.1").is_some());
    // 1,300 hosts nobody listed: loopback addresses where nothing listens,
    // so each fetch is refused at once.
    let mut most = 0;
    for i in 0..1300 {
        let _ = fetch(&format!("http://127.1.{}.{}:9/a", i / 250, i % 250 + 1));
        most = most.max(fetcher.hosts_tracked().0);
    }
    assert!(most <= MAX_HOSTS, "{most} hosts kept");
    let (hosts, budgets) = fetcher.politeness();
    assert!(hosts.len() <= MAX_HOSTS && budgets.len() <= MAX_HOSTS);
    let (tracked, forgotten) = fetcher.hosts_tracked();
    assert!(tracked < 1300 && forgotten > 0, "{tracked} {forgotten}");
    // The operator's host is still known, and still resting.
    assert!(hosts.iter().any(|h| h.host == "127.0.0.1" && h.listed));
    assert!(fetcher.blocked_until("127.0.0.1").is_some());
    assert!(matches!(
        fetch(&up.url("/busy")),
        Err(feedloom::fetch::FetchError::RateLimited { .. })
    ));
    assert_eq!(up.requests.lock().unwrap().len(), 1);
}

/// A 10 MiB body of `n`-byte items, each `item`, inside `head`…`tail`.
fn bomb(head: &str, item: &str, tail: &str) -> String {
    let n = (10 * 1024 * 1024 - head.len() - tail.len() - 64) / item.len();
    format!("{head}{}{tail}", item.repeat(n))
}

#[test]
fn millions_of_tiny_items_are_never_built() {
    let up = Upstream::start();
    // 1.5 million empty RSS items, the same in Atom, a JSON API listing a
    // million small items, and five such pages one after the other: each
    // once took the poller to 1–2.6 GB.
    up.set(
        "/items.rss",
        Reply::ok(
            "application/rss+xml",
            bomb(
                "<rss version=\"2.0\"><channel><title>t</title>",
                "<item/>",
                "</channel></rss>",
            ),
        ),
    );
    up.set(
        "/entries.atom",
        Reply::ok(
            "application/atom+xml",
            bomb(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><id>urn:f</id><updated>2026-01-01T00:00:00Z</updated>",
                "<entry><id>i</id></entry>",
                "</feed>",
            ),
        ),
    );
    up.set(
        "/items.json",
        Reply::ok(
            "application/feed+json",
            bomb(
                "{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"t\",\"items\":[",
                "{\"id\":\"1\"},",
                "{}]}",
            ),
        ),
    );
    for page in 0..5 {
        up.set(
            &format!("/api/{page}"),
            Reply::ok(
                "application/json",
                bomb(
                    &format!(
                        "{{\"next\":\"/api/{}\",\"junk\":[[],[],[]],\"data\":[",
                        page + 1
                    ),
                    &format!("{{\"t\":\"{page}\"}},"),
                    "{}]}",
                ),
            ),
        );
    }
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &format!(
            r#"{LOCAL_HOST_RULES}
[[source]]
id = "rss"
kind = "feed"
url = "{}"
[[source]]
id = "atom"
kind = "feed"
url = "{}"
[[source]]
id = "jsonfeed"
kind = "feed"
url = "{}"
[[source]]
id = "api"
kind = "json"
url = "{}"
max_pages = 5
[source.select]
items = "/data"
title = "/t"
[source.paging]
next_url = "/next"
"#,
            up.url("/items.rss"),
            up.url("/entries.atom"),
            up.url("/items.json"),
            up.url("/api/0"),
        ),
    );
    ws.write(
        "topics.toml",
        "[[topic]]\nid = \"all-of-it\"\ntitle = \"All\"\nsources = [\"rss\", \"atom\", \"jsonfeed\", \"api\"]\n",
    );
    let started = Instant::now();
    let (out, peak_kib) = ws.run_measured(&["poll", "--once"]);
    let took = started.elapsed();
    eprintln!("poll --once: peak {} MiB, {took:?}", peak_kib / 1024);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Four 10 MiB bodies at once (and their decoded copies): far from the
    // 2 GB each of them took when every item was built.
    assert!(
        peak_kib < 200 * 1024,
        "poll --once peaked at {} MiB",
        peak_kib / 1024
    );
    assert!(took < Duration::from_secs(60), "{took:?}");
    assert!(stderr.contains("listing cut at its bounds"), "{stderr}");
    // The API's paging stopped at the cap: page 0 alone holds 5,000.
    let asked = up
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.contains("/api/"))
        .count();
    assert_eq!(asked, 1, "{:?}", up.requests.lock().unwrap());
    // `inspect` reads through the same extractors.
    let (out, peak_kib) = ws.run_measured(&["inspect", &up.url("/items.rss")]);
    eprintln!("inspect: peak {} MiB", peak_kib / 1024);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        peak_kib < 150 * 1024,
        "inspect peaked at {} MiB",
        peak_kib / 1024
    );
    // A server on the same store and sources stays as small.
    let server = ws.serve();
    server.wait_ready();
    let peak_kib = server.peak_rss_kib();
    eprintln!("serve: peak {} MiB", peak_kib / 1024);
    assert!(
        peak_kib < 200 * 1024,
        "serve peaked at {} MiB",
        peak_kib / 1024
    );
    let status: serde_json::Value = serde_json::from_slice(&server.get("/status").body).unwrap();
    for id in ["rss", "atom", "jsonfeed", "api"] {
        let s = status_of(&status, id);
        assert!(s["last_error"].is_null(), "{id}: {s}");
    }
    let feed: serde_json::Value =
        serde_json::from_slice(&server.get("/all-of-it.json?limit=10").body).unwrap();
    assert!(!feed["items"].as_array().unwrap().is_empty());
}

/// The repair path (issue 27) under documents built to make it work: one
/// flaw in front of 1.5 million items, a flaw in every item, Atom shaped
/// in every entry, RSS items set aside from an Atom feed, a document cut
/// short. Each is 10 MiB; the repaired document is held to the strict
/// path's bounds, and a document needing more than `MAX_REPAIRS` repairs
/// is refused, not read.
#[test]
fn broken_feeds_are_repaired_within_bounds() {
    let up = Upstream::start();
    let rss_head = "<rss version=\"2.0\"><channel><title>Tom & Jerry</title>";
    let atom_head = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"text/html\">t</title><id>urn:f</id><updated>Thu, 01 Jan 2026 00:00:00 GMT</updated>";
    let feeds = [
        ("one-flaw", bomb(rss_head, "<item/>", "</channel></rss>")),
        (
            "every-item",
            bomb(rss_head, "<item><title>a & b</title></item>", "</channel></rss>"),
        ),
        (
            "too-broken",
            bomb(
                rss_head,
                &format!("<item><title>{}</title></item>", "& ".repeat(40)),
                "</channel></rss>",
            ),
        ),
        (
            "shaped",
            bomb(
                atom_head,
                "<entry><title type=\"HTML\">e</title><id>i</id><updated>Thu, 01 Jan 2026 00:00:00 GMT</updated></entry>",
                "</feed>",
            ),
        ),
        ("set-aside", bomb(atom_head, "<item><title>i</title></item>", "</feed>")),
        ("cut", {
            let mut b = bomb(rss_head, "<item><title>x</title></item>", "");
            b.push_str("<item><title>cut he");
            b
        }),
    ];
    let mut sources = String::from(LOCAL_HOST_RULES);
    for (id, body) in &feeds {
        up.set(
            &format!("/{id}"),
            Reply::ok("application/xml", body.clone()),
        );
        sources.push_str(&format!(
            "\n[[source]]\nid = \"{id}\"\nkind = \"feed\"\nurl = \"{}\"\n",
            up.url(&format!("/{id}"))
        ));
    }
    let ws = Workspace::new();
    ws.write("sources.toml", &sources);
    let ids: Vec<String> = feeds.iter().map(|(id, _)| format!("\"{id}\"")).collect();
    ws.write(
        "topics.toml",
        &format!(
            "[[topic]]\nid = \"all-of-it\"\ntitle = \"All\"\nsources = [{}]\n",
            ids.join(", ")
        ),
    );
    let started = Instant::now();
    let (out, peak_kib) = ws.run_measured(&["poll", "--once"]);
    let took = started.elapsed();
    eprintln!("poll --once: peak {} MiB, {took:?}", peak_kib / 1024);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Six 10 MiB bodies fetched at once, two extractions at a time, each
    // holding its body and the repaired and shaped copies of what lies
    // before the item bound.
    assert!(
        peak_kib < 200 * 1024,
        "poll --once peaked at {} MiB",
        peak_kib / 1024
    );
    assert!(took < Duration::from_secs(60), "{took:?}");
    // 40 flaws in each item: past MAX_REPAIRS before the 5,000th item,
    // refused. (A flaw in each of 300,000 items is read: the lexer stops
    // at the item bound, and what lies past it costs nothing.)
    assert!(
        stdout.contains(
            "too-broken: error: extract: malformed RSS: more than 100000 places needed repair"
        ),
        "{stdout}"
    );
    let server = ws.serve();
    server.wait_ready();
    let status: serde_json::Value = serde_json::from_slice(&server.get("/status").body).unwrap();
    for id in ["one-flaw", "every-item", "shaped", "set-aside", "cut"] {
        let s = status_of(&status, id);
        assert!(s["last_error"].is_null(), "{id}: {s}");
        assert_eq!(s["recovered"], true, "{id}: {s}");
        // The cap holds on the repair path: 5,000 items read at most.
        let listed = s["last_counts"]["fetched"].as_u64().unwrap_or_default();
        assert!(listed <= 5_000, "{id}: {s}");
    }
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains("feedloom_source_repairs{source=\"one-flaw\"} 1"),
        "{metrics}"
    );
}

/// A name that resolves to 127.0.0.1 but is not `localhost`: what a feed's
/// owner gets by adding an A record of 127.0.0.1 to their own zone.
/// `.ci/run` puts it in `/etc/hosts`.
const REBINDING_NAME: &str = "rebinding.feedloom.test";

/// An internal page with a secret, and a feed at `base` linking to it.
fn secret_and_links(base_feed: &Upstream) -> Upstream {
    let inside = Upstream::start();
    inside.set(
        "/secret",
        Reply::ok(
            "text/html",
            format!(
                "<html><head><title>Intranet</title></head><body><article><h1>Payroll</h1>{}</article></body></html>",
                "<p>INTRANET-SECRET the operator's private numbers, never to be published.</p>".repeat(20)
            ),
        ),
    );
    base_feed.set(
        "/feed.xml",
        Reply::ok(
            "application/rss+xml",
            format!(
                "<rss version=\"2.0\"><channel><title>Links</title><link>http://x/</link><description>d</description><item><title>Read this</title><link>{}</link><guid>g1</guid></item></channel></rss>",
                inside.url("/secret")
            ),
        ),
    );
    inside
}

#[test]
fn a_public_feed_cannot_make_itself_local_through_its_dns() {
    use std::net::ToSocketAddrs;
    let resolved: Vec<_> = (REBINDING_NAME, 80)
        .to_socket_addrs()
        .map(|a| a.map(|a| a.ip().to_string()).collect())
        .unwrap_or_default();
    assert!(
        resolved.iter().any(|ip| ip == "127.0.0.1"),
        "{REBINDING_NAME} must resolve to 127.0.0.1: add `127.0.0.1 {REBINDING_NAME}` to /etc/hosts (.ci/run does); got {resolved:?}"
    );
    let feed = Upstream::start();
    let inside = secret_and_links(&feed);
    let defs = |url: &str, extra: &str| {
        format!("{LOCAL_HOST_RULES}\n[[host]]\nname = \"{REBINDING_NAME}\"\nmin_spacing = \"0s\"\n\n[[source]]\nid = \"links\"\nkind = \"feed\"\nurl = \"{url}\"\nfulltext = true\nrobots = false\n{extra}\n[[topic]]\nid = \"all\"\n")
    };
    let public_url = format!("http://{REBINDING_NAME}:{}/feed.xml", feed.addr.port());
    // A public name whose DNS answers 127.0.0.1: public all the same, so it
    // cannot be fetched at all, and nothing inside is asked.
    let ws = Workspace::new();
    ws.write("sources.toml", &defs(&public_url, ""));
    let out = ws.run(&["poll", "--once"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("internal addresses") && stderr.contains("internal = true"),
        "{stderr}"
    );
    assert!(feed.requests.lock().unwrap().is_empty());
    assert!(inside.requests.lock().unwrap().is_empty());
    // The operator's own source named by its address reads its feed, but a
    // link to another origin inside is refused: it is the feed's choice.
    let ws = Workspace::new();
    ws.write("sources.toml", &defs(&feed.url("/feed.xml"), ""));
    ws.poll_ok();
    assert!(!feed.requests.lock().unwrap().is_empty());
    assert!(
        inside.requests.lock().unwrap().is_empty(),
        "{:?}",
        inside.requests.lock().unwrap()
    );
    let server = ws.serve();
    let atom = server.get("/all.atom").text();
    assert!(
        atom.contains("Read this") && !atom.contains("INTRANET-SECRET"),
        "{atom}"
    );
    drop(server);
    // Declared internal, the same source may.
    let ws = Workspace::new();
    ws.write("sources.toml", &defs(&public_url, "internal = true\n"));
    ws.poll_ok();
    assert_eq!(inside.requests.lock().unwrap().len(), 1);
    let server = ws.serve();
    assert!(server.get("/all.atom").text().contains("INTRANET-SECRET"));
}

/// An RSS feed of `n` items published yesterday, each with `text` as its
/// description, ids starting with `tag`.
fn yesterdays_feed(tag: &str, n: usize, text: &str) -> String {
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    let day = yesterday.format("%a, %d %b %Y");
    let items: String = (0..n)
        .map(|i| {
            format!(
                "<item><title>{tag} story {i}</title><link>http://example.org/{tag}/{i}</link><pubDate>{day} {:02}:{:02}:{:02} GMT</pubDate><description>{text} {i}</description></item>",
                i / 3600 % 24,
                i / 60 % 60,
                i % 60
            )
        })
        .collect();
    format!("<rss version=\"2.0\"><channel><title>{tag}</title><link>http://example.org/</link><description>d</description>{items}</channel></rss>")
}

#[test]
fn a_digest_of_a_busy_topic_decodes_only_what_it_shows() {
    let up = Upstream::start();
    // 15,000 entries of 5.5 KB, from ten sources.
    let text = "A long description of what happened, ".repeat(150);
    let mut sources = String::from(LOCAL_HOST_RULES);
    let tags = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    for tag in tags {
        up.set(
            &format!("/{tag}.rss"),
            Reply::ok("application/rss+xml", yesterdays_feed(tag, 1_500, &text)),
        );
        sources.push_str(&format!(
            "\n[[source]]\nid = \"{tag}\"\nkind = \"feed\"\nurl = \"{}\"\n",
            up.url(&format!("/{tag}.rss"))
        ));
    }
    let ws = Workspace::new();
    ws.write("sources.toml", &sources);
    ws.write(
        "topics.toml",
        &format!(
            "[[topic]]\nid = \"busy\"\ntitle = \"Busy\"\nsources = {tags:?}\ndigest = \"daily\"\n"
        ),
    );
    ws.poll_ok();
    let server = ws.serve();
    server.wait_ready();
    std::thread::sleep(Duration::from_millis(500));
    let before = server.rss_kib();
    let digest = server.get("/busy.digest.atom");
    assert_eq!(digest.status, 200);
    let peak = server.peak_rss_kib();
    eprintln!("digest of 15,000 entries: {before} KiB before, {peak} KiB peak");
    let text = digest.text();
    // Yesterday's item lists the best 20 and says how many in all.
    assert!(text.contains("(15000 entries)"), "{text}");
    assert!(text.contains("And 14980 more"), "{text}");
    // 15,000 entries decoded at once took hundreds of MB.
    assert!(
        peak < before + 48 * 1024,
        "the digest took the server from {before} KiB to {peak} KiB"
    );
}

#[test]
fn queries_no_index_can_narrow_are_bounded_and_the_render_queue_refuses_past_its_bound() {
    let up = Upstream::start();
    up.set(
        "/big.rss",
        Reply::ok(
            "application/rss+xml",
            yesterdays_feed(
                "big",
                5_000,
                &"Words of a story about nothing much. ".repeat(20),
            ),
        ),
    );
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &format!(
            "{LOCAL_HOST_RULES}\n[[source]]\nid = \"big\"\nkind = \"feed\"\nurl = \"{}\"\n\n[[topic]]\nid = \"all\"\n",
            up.url("/big.rss")
        ),
    );
    ws.poll_ok();
    let server = ws.serve();
    server.wait_ready();
    // A two-letter word has no trigram, so the cards cannot rule an entry
    // out: the query stops after decoding its bound, and says so.
    let json: serde_json::Value =
        serde_json::from_slice(&server.get("/search.json?q=z1").body).unwrap();
    assert!(json["items"].as_array().unwrap().is_empty());
    let description = json["description"].as_str().unwrap();
    assert!(
        description.contains("1000 tested on their text"),
        "{description}"
    );
    assert_eq!(
        metric(&server.get("/metrics").text(), "feedloom_queries_cut_total"),
        1.0
    );
    let addr = server.addr;
    // Phase one: one client floods with 32 connections of fresh queries
    // while another asks now and then: the flood holds at most its 8
    // places, is refused past them, and the other is never refused.
    let flood = |clients: Vec<&'static str>, per_client: usize, tag: &'static str| {
        clients
            .into_iter()
            .flat_map(|ip| (0..per_client).map(move |t| (ip, t)))
            .map(|(ip, t)| {
                std::thread::spawn(move || {
                    let mut got = (0, 0);
                    for i in 0..4 {
                        let path = format!("/search.atom?q={tag}{ip}x{t}x{i}");
                        let r = http_from(ip.parse().unwrap(), addr, "GET", &path, &[]);
                        match r.status {
                            200 => got.0 += 1,
                            503 => {
                                assert_eq!(r.header("retry-after"), Some("1"));
                                got.1 += 1;
                            }
                            other => panic!("{other}"),
                        }
                    }
                    got
                })
            })
            .collect::<Vec<_>>()
    };
    let watch = |threads: Vec<std::thread::JoinHandle<(u32, u32)>>, quiet: Option<&str>| {
        let (mut most, mut quiet_asked) = (0.0f64, 0);
        while threads.iter().any(|c| !c.is_finished()) {
            most = most.max(metric(
                &server.get("/metrics").text(),
                "feedloom_renders_queued",
            ));
            if let Some(ip) = quiet {
                let path = format!("/search.atom?q=quiet{quiet_asked}");
                let r = http_from(ip.parse().unwrap(), addr, "GET", &path, &[]);
                assert_eq!(r.status, 200, "the quiet client was refused");
                quiet_asked += 1;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let (ok, refused) = threads
            .into_iter()
            .map(|c| c.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        (ok, refused, most, quiet_asked)
    };
    let (ok, refused_one, most, quiet) =
        watch(flood(vec!["127.0.0.1"], 32, "a"), Some("127.0.0.2"));
    eprintln!("one client: {ok} rendered, {refused_one} refused, at most {most} queued; the other: {quiet} rendered");
    assert!(
        refused_one > 0 && ok > 0,
        "{ok} rendered, {refused_one} refused"
    );
    assert!(
        most <= 9.0,
        "{most} queued: one client's 8 and the other's 1 at most"
    );
    assert!(quiet > 0);
    // Phase two: six clients, 48 places asked: the queue holds 32.
    let clients = vec![
        "127.0.0.1",
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.5",
        "127.0.0.6",
    ];
    let (ok, refused_all, most, _) = watch(flood(clients, 12, "b"), None);
    eprintln!("six clients: {ok} rendered, {refused_all} refused, at most {most} queued");
    assert!(most <= 32.0, "{most} queued");
    assert!(refused_all > 0, "{ok} rendered, none refused");
    let text = server.get("/metrics").text();
    assert_eq!(
        metric(&text, "feedloom_renders_refused_total"),
        f64::from(refused_one + refused_all)
    );
    // Phase three: 480 fresh queries, each connection closed as soon as
    // the request is sent. The renders they started still hold their
    // places: never more than 2 running and 8 queued for that client,
    // and no pile of blocking threads (190 once).
    let threads = || {
        std::fs::read_to_string(format!("/proc/{}/status", server.child.id()))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap()
    };
    let before = threads();
    let hangups: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..60 {
                    let mut c = TcpStream::connect(addr).unwrap();
                    let _ = write!(c, "GET /search.atom?q=h{t}x{i} HTTP/1.1\r\nHost: x\r\n\r\n");
                    // Long enough for the request to be read and routed.
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect();
    let (mut most_threads, mut most_running, mut most_queued) = (0, 0.0f64, 0.0f64);
    while hangups.iter().any(|h| !h.is_finished()) {
        let text = server.get("/metrics").text();
        most_running = most_running.max(metric(&text, "feedloom_renders_in_flight"));
        most_queued = most_queued.max(metric(&text, "feedloom_renders_queued"));
        most_threads = most_threads.max(threads());
        std::thread::sleep(Duration::from_millis(2));
    }
    for h in hangups {
        h.join().unwrap();
    }
    eprintln!("hang-ups: {before} threads before, at most {most_threads}; {most_running} rendering, {most_queued} queued at most");
    assert!(
        most_running <= 2.0 && most_queued <= 8.0,
        "{most_running} running, {most_queued} queued"
    );
    assert!(
        most_threads <= before + 8,
        "{before} threads before, {most_threads} at most"
    );
}

#[test]
fn an_upstream_cannot_fill_status_with_its_bytes() {
    let (ws, up) = fixture_workspace();
    // An 8 MiB root element name, with a terminal escape and a line break.
    let name = format!("x\u{1b}[31m\n{}", "a".repeat(8 * 1024 * 1024));
    up.set(
        "/arxiv.rss",
        Reply::ok("application/rss+xml", format!("<{name}>")),
    );
    let out = ws.run(&["poll", "--once"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.len() < 16 * 1024, "{} bytes logged", stderr.len());
    assert!(!stderr.contains('\u{1b}'), "an escape reached the log");
    let server = ws.serve();
    let status = server.get("/status");
    assert!(
        status.body.len() < 64 * 1024,
        "/status is {} bytes",
        status.body.len()
    );
    let json: serde_json::Value = serde_json::from_slice(&status.body).unwrap();
    let message = status_of(&json, "arxiv")["last_error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("unknown root element"), "{message}");
    assert!(
        !message.contains('\u{1b}') && !message.contains('\n'),
        "{message:?}"
    );
    assert!(message.chars().count() <= 501, "{}", message.len());
}

#[test]
fn a_query_cannot_make_a_feed_ill_formed() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve();
    for path in [
        "/search.atom?q=%00%01",
        "/all.rss?author=%1B",
        "/search.json?q=a%EF%BF%BE",
    ] {
        let r = server.get(path);
        assert_eq!(r.status, 400, "{path}");
        assert!(
            r.text().contains("control characters"),
            "{path}: {}",
            r.text()
        );
    }
    // A query the filter accepts is written as well-formed XML.
    for path in ["/search.atom?q=model%09language", "/all.rss?q=%3C%26%3E"] {
        let r = server.get(path);
        assert_eq!(r.status, 200, "{path}");
        parse_feed(&r.body);
        assert!(xml_chars_only(&r.body), "{path}");
    }
}

/// Whether `xml` holds only characters XML 1.0 allows (its `Char`
/// production: no C0 control but tab, CR and LF), which feed-rs does not
/// check.
fn xml_chars_only(xml: &[u8]) -> bool {
    !String::from_utf8_lossy(xml)
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

#[test]
fn elements_inside_an_item_or_a_channel_are_bounded() {
    let up = Upstream::start();
    // 1.7 million empty extension elements in one item (250 MB built),
    // beside a sound item; the same in the channel; a million categories.
    let sound = "<item><title>Sound</title><link>http://example.org/sound</link></item>";
    up.set(
        "/ext.rss",
        Reply::ok(
            "application/rss+xml",
            bomb(
                &format!("<rss version=\"2.0\" xmlns:a=\"urn:a\"><channel><title>t</title>{sound}<item><title>Bomb</title>"),
                "<a:b/>",
                "</item></channel></rss>",
            ),
        ),
    );
    up.set(
        "/channel.rss",
        Reply::ok(
            "application/rss+xml",
            bomb(
                "<rss version=\"2.0\" xmlns:a=\"urn:a\"><channel><title>t</title>",
                "<a:b/>",
                "</channel></rss>",
            ),
        ),
    );
    up.set(
        "/categories.atom",
        Reply::ok(
            "application/atom+xml",
            bomb(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><id>urn:f</id><updated>2026-01-01T00:00:00Z</updated><entry><title>e</title><id>urn:e</id><updated>2026-01-01T00:00:00Z</updated>",
                "<category term=\"x\"/>",
                "</entry></feed>",
            ),
        ),
    );
    // Items each just under their own bound (996 nested elements), 1,700
    // of them: 724 MB built; and 2,000 namespace declarations.
    let split_item = format!(
        "<item><title>s</title>{}</item>",
        "<x:a><x:b/></x:a>".repeat(498)
    );
    up.set(
        "/split.rss",
        Reply::ok(
            "application/rss+xml",
            bomb(
                "<rss version=\"2.0\" xmlns:x=\"urn:x\"><channel><title>t</title>",
                &split_item,
                "</channel></rss>",
            ),
        ),
    );
    let declarations: String = (0..2_000)
        .map(|i| format!(" xmlns:n{i}=\"urn:{i}\""))
        .collect();
    up.set(
        "/ns.rss",
        Reply::ok(
            "application/rss+xml",
            format!("<rss version=\"2.0\"{declarations}><channel><title>t</title>{sound}</channel></rss>"),
        ),
    );
    let ws = Workspace::new();
    let mut sources = String::from(LOCAL_HOST_RULES);
    for id in ["ext", "channel", "categories", "split", "ns"] {
        let path = if id == "categories" {
            "/categories.atom".to_string()
        } else {
            format!("/{id}.rss")
        };
        sources.push_str(&format!(
            "\n[[source]]\nid = \"{id}\"\nkind = \"feed\"\nurl = \"{}\"\n",
            up.url(&path)
        ));
    }
    sources.push_str("\n[[topic]]\nid = \"all\"\n");
    ws.write("sources.toml", &sources);
    let (out, peak_kib) = ws.run_measured(&["poll", "--once"]);
    eprintln!("element bombs: peak {} MiB", peak_kib / 1024);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(peak_kib < 200 * 1024, "peaked at {} MiB", peak_kib / 1024);
    // The bomb item keeps its first 1,000 elements; the split bomb is cut
    // at the document's budget of nodes.
    assert!(stderr.contains("the rest of each was left out"), "{stderr}");
    assert!(stderr.contains("listing cut at its bounds"), "{stderr}");
    let server = ws.serve();
    let status: serde_json::Value = serde_json::from_slice(&server.get("/status").body).unwrap();
    assert!(status_of(&status, "ext")["last_error"].is_null());
    let ns = &status_of(&status, "ns")["last_error"];
    assert!(
        ns["message"]
            .as_str()
            .unwrap()
            .contains("namespace declarations"),
        "{ns}"
    );
    assert!(status_of(&status, "split")["last_error"].is_null());
    let channel = &status_of(&status, "channel")["last_error"];
    assert!(
        channel["message"]
            .as_str()
            .unwrap()
            .contains("outside its items"),
        "{channel}"
    );
    let json = server.get("/all.json").text();
    assert!(
        json.contains("http://example.org/sound") && json.contains("Bomb"),
        "{json}"
    );
}

/// `serve` and `poll` read 16 sources at once: one upstream behind many
/// sources multiplies what each may cost.
#[test]
fn sixteen_hostile_sources_at_once_stay_bounded() {
    let up = Upstream::start();
    let mut sources = String::from(LOCAL_HOST_RULES);
    let body = bomb(
        "<rss version=\"2.0\"><channel><title>t</title>",
        "<item><title>x</title></item>",
        "</channel></rss>",
    );
    for i in 0..16 {
        up.set(
            &format!("/{i}.rss"),
            Reply::ok("application/rss+xml", body.clone()),
        );
        sources.push_str(&format!(
            "\n[[source]]\nid = \"s{i}\"\nkind = \"feed\"\nurl = \"{}\"\n",
            up.url(&format!("/{i}.rss"))
        ));
    }
    let ws = Workspace::new();
    ws.write("sources.toml", &sources);
    let (out, peak_kib) = ws.run_measured(&["poll", "--once"]);
    eprintln!("16 sources: poll --once peak {} MiB", peak_kib / 1024);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Polled 16 at once, each at most its 5,000 items: 103 MiB here.
    assert!(peak_kib < 300 * 1024, "peaked at {} MiB", peak_kib / 1024);
}

const ADMIN_TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// Sends one request on a kept-alive connection and reads its answer:
/// status, headers and body (by `Content-Length`).
fn exchange(conn: &mut TcpStream, request: &str) -> HttpResponse {
    conn.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut buf).expect("an answer");
        assert!(n > 0, "closed before answering");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    while raw.len() < head_end + len {
        let n = conn.read(&mut buf).expect("the body");
        assert!(n > 0, "closed inside the body");
        raw.extend_from_slice(&buf[..n]);
    }
    HttpResponse {
        status: status.parse().unwrap(),
        headers,
        body: raw[head_end..head_end + len].to_vec(),
    }
}

/// A burst of wrong admin tokens from one client, on one kept-alive
/// connection (4,872 guesses a second were answered before): after a few
/// failures the client is answered `429` with `Retry-After` without the
/// token being looked at, the right token still works from another
/// client, and `/metrics` counts both kinds of failure.
#[test]
fn admin_token_guesses_are_throttled_per_client() {
    let (ws, _up) = fixture_workspace();
    let server = ws.serve_with(&["--admin-token", ADMIN_TOKEN]);
    server.wait_ready();
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let request = |token: &str| {
        format!("GET /admin/explain?q=nothing HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n")
    };
    let mut conn = TcpStream::connect(server.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The right token works, and a right answer is no failure.
    let right = exchange(&mut conn, &request(ADMIN_TOKEN));
    assert_eq!(right.status, 404, "{}", right.text());

    let guesses = 300;
    let (mut refused, mut throttled) = (0u32, 0u32);
    let started = Instant::now();
    for i in 0..guesses {
        // Same length as the token, and one that differs only at the end.
        let guess = match i {
            0 => format!("{}0", &ADMIN_TOKEN[..31]),
            i => format!("{i:032x}"),
        };
        let r = exchange(&mut conn, &request(&guess));
        match r.status {
            401 => refused += 1,
            429 => {
                throttled += 1;
                let after: u64 = r
                    .header("retry-after")
                    .expect("Retry-After")
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&after), "{after}");
            }
            s => panic!("{s}: {}", r.text()),
        }
    }
    let took = started.elapsed();
    eprintln!(
        "{guesses} guesses in {took:?}: {refused} answered 401, {throttled} answered 429 ({:.0} answers/s)",
        f64::from(guesses) / took.as_secs_f64()
    );
    // At most the allowance of 5 failures, then one per 2 s.
    let allowed = 5 + (took.as_secs_f64() / 2.0).ceil() as u32;
    assert!(
        refused <= allowed,
        "{refused} wrong tokens looked at in {took:?}"
    );
    assert_eq!(refused + throttled, guesses);
    // While throttled, even the right token is not looked at.
    let r = exchange(&mut conn, &request(ADMIN_TOKEN));
    assert_eq!(r.status, 429);
    // One more guess is looked at every 2 s.
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        exchange(&mut conn, &request("f".repeat(32).as_str())).status,
        401
    );
    assert_eq!(
        exchange(&mut conn, &request("e".repeat(32).as_str())).status,
        429
    );
    let (refused, throttled) = (refused + 1, throttled + 1);
    // Another client is not held back by this one.
    let other = http_from(
        "127.0.0.2".parse().unwrap(),
        server.addr,
        "GET",
        "/admin/explain?q=nothing",
        &[("authorization", &bearer)],
    );
    assert_eq!(other.status, 404, "{}", other.text());
    let m = server.get("/metrics").text();
    let failures = |outcome: &str| {
        metric(
            &m,
            &format!("feedloom_admin_auth_failures_total{{outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(failures("refused"), f64::from(refused));
    assert_eq!(failures("throttled"), f64::from(throttled + 1));
    assert_eq!(metric(&m, "feedloom_admin_auth_clients"), 1.0);
    assert!(metric(&m, "feedloom_admin_auth_clients_limit") >= 1.0);
}

#[test]
fn values_inside_items_and_pages_of_tiny_elements_are_bounded() {
    let up = Upstream::start();
    // A JSON Feed item whose id is a million zeros; a JSON API item whose
    // categories are a million keys; a page of 2.6 million `<br>`s; a
    // Hugging Face API answer of one item holding a million objects. Each
    // took 140 to 370 MB.
    up.set(
        "/id.json",
        Reply::ok(
            "application/feed+json",
            bomb(
                "{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"t\",\"items\":[{\"title\":\"x\",\"url\":\"http://e.org/1\",\"id\":[",
                "0,",
                "0]}]}",
            ),
        ),
    );
    let keys: String = (0..700_000).map(|i| format!("\"{i}\":null,")).collect();
    up.set(
        "/api.json",
        Reply::ok(
            "application/json",
            format!("{{\"data\":[{{\"t\":\"x\",\"c\":{{{keys}\"z\":null}}}}]}}"),
        ),
    );
    up.set(
        "/page.html",
        Reply::ok(
            "text/html",
            bomb(
                "<html><body><article><h2>x</h2>",
                "<br>",
                "</article></body></html>",
            ),
        ),
    );
    up.set(
        "/api/daily_papers?limit=100&p=0",
        Reply::ok("application/json", bomb("[[", "{},", "{}]]")),
    );
    let ws = Workspace::new();
    ws.write(
        "sources.toml",
        &format!(
            r#"{LOCAL_HOST_RULES}
[[source]]
id = "jsonfeed"
kind = "feed"
url = "{}"
[[source]]
id = "api"
kind = "json"
url = "{}"
[source.select]
items = "/data"
title = "/t"
categories = "/c"
[[source]]
id = "page"
kind = "html"
url = "{}"
[source.select]
item = "article"
title = "h2"
[[source]]
id = "hf"
kind = "huggingface_papers"
base_url = "{}"
listing = "daily"
"#,
            up.url("/id.json"),
            up.url("/api.json"),
            up.url("/page.html"),
            up.url(""),
        ),
    );
    let (out, peak_kib) = ws.run_measured(&["poll", "--once"]);
    eprintln!("values and elements: peak {} MiB", peak_kib / 1024);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        peak_kib < 150 * 1024,
        "peaked at {} MiB: {stderr}",
        peak_kib / 1024
    );
    assert!(stderr.contains("more than 200000 elements"), "{stderr}");
    let server = ws.serve();
    let status: serde_json::Value = serde_json::from_slice(&server.get("/status").body).unwrap();
    for id in ["jsonfeed", "api"] {
        assert!(
            status_of(&status, id)["last_error"].is_null(),
            "{id}: {status}"
        );
    }
}
