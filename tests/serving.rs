//! What polling aggregators and admins rely on: compression, caching
//! headers, JSON Feed, OPML, preview pages, forwarded headers, status,
//! metrics, keep-alive and h2c, and `export`.

use feedloom_testkit as common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;

fn served() -> (Workspace, Upstream, Server) {
    let (ws, up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve();
    (ws, up, server)
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

fn unbrotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(b, 4096)
        .read_to_end(&mut out)
        .expect("valid brotli");
    out
}

#[test]
fn compression_is_negotiated_and_precomputed() {
    let (_ws, _up, server) = served();
    let plain = server.get("/all.atom");
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));

    let gz = http(
        server.addr,
        "GET",
        "/all.atom",
        &[("Accept-Encoding", "gzip")],
    );
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&gz.body), plain.body);
    assert!(
        gz.body.len() * 2 < plain.body.len(),
        "gzip actually compresses"
    );

    let br = http(
        server.addr,
        "GET",
        "/all.atom",
        &[("Accept-Encoding", "gzip, deflate, br")],
    );
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(unbrotli(&br.body), plain.body);

    let q = http(
        server.addr,
        "GET",
        "/all.atom",
        &[("Accept-Encoding", "br;q=0.1, gzip;q=0.9")],
    );
    assert_eq!(
        q.header("content-encoding"),
        Some("gzip"),
        "q-values decide"
    );
    let refused = http(
        server.addr,
        "GET",
        "/all.atom",
        &[("Accept-Encoding", "gzip;q=0, br;q=0")],
    );
    assert_eq!(refused.header("content-encoding"), None);

    // Each representation has its own strong validator, and any of them
    // revalidates the document.
    let etags = [plain.header("etag"), gz.header("etag"), br.header("etag")];
    assert!(
        etags[0] != etags[1] && etags[1] != etags[2] && etags[0] != etags[2],
        "{etags:?}"
    );
    for etag in etags.iter().flatten() {
        let r = http(
            server.addr,
            "GET",
            "/all.atom",
            &[("If-None-Match", etag), ("Accept-Encoding", "gzip")],
        );
        assert_eq!(r.status, 304, "{etag}");
        assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    }
}

#[test]
fn cache_control_and_ttl_follow_the_poll_intervals() {
    let (_ws, _up, server) = served();
    // The fixture sources poll every 30 minutes (the feed default) or hour
    // (html): half the shortest interval.
    let rss = server.get("/all.rss");
    assert_eq!(rss.header("cache-control"), Some("public, max-age=900"));
    assert!(rss.text().contains("<ttl>15</ttl>"), "{}", rss.text());
    assert_eq!(
        server.get("/all.json").header("cache-control"),
        Some("public, max-age=900")
    );
    assert_eq!(
        server.get("/healthz").header("cache-control"),
        Some("no-store")
    );
    assert_eq!(
        server.get("/nope.rss").header("cache-control"),
        Some("no-store")
    );
}

#[test]
fn json_feed_opml_and_preview() {
    let (_ws, _up, server) = served();
    let json = server.get("/all.json?limit=100");
    assert_eq!(
        json.header("content-type"),
        Some("application/feed+json; charset=utf-8")
    );
    let feed = parse_feed(&json.body);
    assert_eq!(feed.entries.len(), FIXTURE_ENTRIES);
    let value: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(value["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(
        value["feed_url"],
        format!("http://{}/all.json", server.addr)
    );
    let atom_ids: Vec<String> = parse_feed(&server.get("/all.atom?limit=100").body)
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    let json_ids: Vec<String> = feed.entries.into_iter().map(|e| e.id).collect();
    assert_eq!(atom_ids, json_ids, "the same ids in every format");

    let opml = server.get("/opml.xml");
    assert_eq!(opml.status, 200);
    assert_eq!(
        opml.header("content-type"),
        Some("text/x-opml; charset=utf-8")
    );
    let text = opml.text();
    for topic in ["all", "llm", "speech", "agents-not-llm"] {
        assert!(
            text.contains(&format!("xmlUrl=\"http://{}/{topic}.rss\"", server.addr)),
            "{topic} missing from {text}"
        );
    }
    assert_eq!(text.matches("<outline ").count(), 4);

    let preview = server.get("/speech.html");
    assert_eq!(preview.status, 200);
    assert_eq!(
        preview.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = preview.text();
    assert!(
        html.contains("Streaming speech recognition at 80 ms latency"),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"http://{}/speech.atom\"", server.addr)));
    assert_eq!(server.get("/nope.html").status, 404);
}

#[test]
fn forwarded_headers_only_count_when_trusted() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let proxied = [
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "feeds.example.org"),
        ("X-Forwarded-Prefix", "/feeds"),
    ];
    {
        let untrusting = ws.serve();
        let body = http(untrusting.addr, "GET", "/llm.atom", &proxied).text();
        assert!(
            !body.contains("feeds.example.org"),
            "headers must be ignored without --trust-proxy"
        );
        assert!(body.contains(&format!("http://{}/llm.atom", untrusting.addr)));
    }
    let trusting = ws.serve_with(&[
        "--trust-proxy",
        "--public-host",
        "feeds.example.org,other.example",
    ]);
    for (path, link) in [
        ("/llm.atom", "https://feeds.example.org/feeds/llm.atom"),
        ("/llm.rss", "https://feeds.example.org/feeds/llm.rss"),
        ("/llm.json", "https://feeds.example.org/feeds/llm.json"),
        ("/opml.xml", "https://feeds.example.org/feeds/llm.rss"),
        ("/", "https://feeds.example.org/feeds/llm.atom"),
        ("/llm.html", "https://feeds.example.org/feeds/llm.rss"),
    ] {
        let body = http(trusting.addr, "GET", path, &proxied).text();
        assert!(body.contains(link), "{path} lacks {link}");
        assert!(
            !body.contains(&trusting.addr.to_string()),
            "{path} still names the internal address"
        );
    }
    let rfc7239 = http(
        trusting.addr,
        "GET",
        "/llm.rss",
        &[("Forwarded", "for=192.0.2.1;proto=https;host=other.example")],
    )
    .text();
    assert!(rfc7239.contains("https://other.example/llm.rss"));
    // Without forwarded headers the configured base applies.
    assert!(trusting
        .get("/llm.rss")
        .text()
        .contains(&format!("http://{}/llm.rss", trusting.addr)));
    // A hostile value is ignored, not echoed into feeds.
    let hostile = http(
        trusting.addr,
        "GET",
        "/llm.rss",
        &[("X-Forwarded-Host", "evil.example/\"><script>")],
    )
    .text();
    assert!(!hostile.contains("evil.example"));
}

#[test]
fn status_and_metrics() {
    // No poll --once first: serve polls everything itself on a new store.
    let (ws, up) = fixture_workspace();
    up.set("/group.rdf", Reply::status(500, "down"));
    let server = ws.serve();
    // Asked before the polls end: the count taken then must not stick.
    server.get("/status");
    server.wait_ready();
    server.get("/all.rss");
    http(server.addr, "GET", "/all.rss", &[("If-None-Match", "*")]);
    server.get("/missing.rss");

    let status = server.get("/status");
    assert_eq!(status.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&status.body).unwrap();
    assert_eq!(v["ready"], true);
    assert_eq!(
        v["entries"],
        FIXTURE_ENTRIES - 2,
        "all but the failing source's two"
    );
    let sources = v["sources"].as_array().unwrap();
    let group = sources.iter().find(|s| s["id"] == "group").unwrap();
    assert_eq!(group["ok"], false);
    assert_eq!(group["last_error"]["kind"], "http_status");
    assert_eq!(group["last_error"]["status"], 500);
    assert!(group["last_error"]["message"]
        .as_str()
        .unwrap()
        .contains("HTTP 500"));
    assert!(group["last_success"].is_null());
    assert_eq!(group["consecutive_failures"], 1);
    assert!(group["next_poll"].is_string());
    let arxiv = sources.iter().find(|s| s["id"] == "arxiv").unwrap();
    assert_eq!(arxiv["ok"], true);
    assert_eq!(arxiv["entries_added"], 20);

    let metrics = server.get("/metrics").text();
    for line in [
        "feedloom_http_requests_total{route=\"feed\",status=\"200\"}",
        "feedloom_http_requests_total{route=\"feed\",status=\"304\"} 1",
        "feedloom_http_requests_total{route=\"not_found\",status=\"404\"} 1",
        "feedloom_poll_errors_total{source=\"group\"} 1",
        "feedloom_polls_total{source=\"arxiv\",outcome=\"fetched\"} 1",
        "feedloom_source_consecutive_failures{source=\"group\"} 1",
        "feedloom_topic_entries{topic=\"all\"} 28",
        "feedloom_http_not_modified_ratio",
        "feedloom_http_response_body_bytes_total",
        "feedloom_render_seconds_total",
        "feedloom_ready 1",
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let (_ws, _up, server) = served();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let expected = server.get("/llm.rss").body.len();
    for _ in 0..3 {
        write!(stream, "GET /llm.rss HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "connection closed early");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                if buf.len() >= head_end + 4 + expected {
                    break;
                }
            }
        }
        assert!(buf.starts_with(b"HTTP/1.1 200"));
    }
}

#[test]
fn http2_cleartext_is_served() {
    let (_ws, _up, server) = served();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (version, status, body) = rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .http2_prior_knowledge()
            .build()
            .unwrap();
        let r = client
            .get(format!("http://{}/llm.atom", server.addr))
            .send()
            .await
            .unwrap();
        (r.version(), r.status().as_u16(), r.bytes().await.unwrap())
    });
    assert_eq!(version, reqwest::Version::HTTP_2);
    assert_eq!(status, 200);
    assert_eq!(body.to_vec(), server.get("/llm.atom").body);
}

#[test]
fn export_writes_what_the_server_serves() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let out_dir = ws.dir.path().join("public");
    let out = ws
        .command()
        .args(["export", "--base-url", "https://static.example/feeds"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "index.html",
        "opml.xml",
        "all.rss",
        "all.atom",
        "all.json",
        "all.html",
        "llm.rss.gz",
        "llm.atom.br",
    ] {
        assert!(out_dir.join(name).is_file(), "{name} not exported");
    }
    let atom = std::fs::read(out_dir.join("all.atom")).unwrap();
    let feed = parse_feed(&atom);
    assert_eq!(feed.entries.len(), FIXTURE_ENTRIES);
    assert!(String::from_utf8_lossy(&atom).contains("https://static.example/feeds/all.atom"));
    assert_eq!(
        gunzip(&std::fs::read(out_dir.join("all.atom.gz")).unwrap()),
        atom
    );
    // The index links nothing a static host lacks: no `status`.
    let index = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert!(index.contains("As of the export, "), "{index}");
    assert!(!index.contains("feeds/status"), "{index}");
    // The same bytes the server sends for the same base (without the
    // WebSub hub, which a static host does not have).
    let server = ws.serve_with(&[
        "--base-url",
        "https://static.example/feeds/",
        "--websub",
        "off",
    ]);
    assert_eq!(server.get("/all.atom").body, atom);
    assert!(server
        .get("/")
        .text()
        .contains("<a href=\"https://static.example/feeds/status\">status</a>"));
}

#[test]
fn a_slow_client_cannot_hold_a_connection() {
    let (_ws, _up, server) = served();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    // Half a request head, then silence.
    stream
        .write_all(b"GET /llm.rss HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    // The server closes the connection (possibly after a 408) once the
    // header read timeout passes; the read then ends instead of hanging.
    let _ = stream.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the connection was held for {:?}",
        started.elapsed()
    );
    assert!(
        buf.is_empty() || buf.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
}

#[test]
fn an_empty_topic_is_dated_when_it_was_created_never_1970() {
    let (ws, _up) = fixture_workspace();
    ws.write(
        "empty.toml",
        "[[tag]]\nid = \"nothing\"\nany = [{ words = [\"zzyzx\"] }]\n\n[[topic]]\nid = \"empty\"\ntags = { any = [\"nothing\"] }\n",
    );
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    ws.poll_ok();
    let dates = |server: &Server| {
        let rss = server.get("/empty.rss").text();
        let atom = server.get("/empty.atom").text();
        let between = |text: &str, open: &str, close: &str| {
            text.split(open)
                .nth(1)
                .and_then(|t| t.split(close).next())
                .map(str::to_string)
        };
        (
            between(&rss, "<lastBuildDate>", "</lastBuildDate>").unwrap_or_else(|| panic!("{rss}")),
            between(&atom, "<updated>", "</updated>").unwrap_or_else(|| panic!("{atom}")),
        )
    };
    let server = ws.serve();
    let (rss, atom) = dates(&server);
    let atom_at: chrono::DateTime<chrono::Utc> = atom.parse().unwrap();
    let rss_at = chrono::DateTime::parse_from_rfc2822(&rss).unwrap();
    assert!(atom_at >= before && atom_at <= chrono::Utc::now(), "{atom}");
    assert_eq!(rss_at.timestamp(), atom_at.timestamp());
    assert!(parse_feed(server.get("/empty.atom").body.as_slice())
        .entries
        .is_empty());
    // The date is the topic's, not the render's: a restart keeps it.
    drop(server);
    std::thread::sleep(Duration::from_millis(1100));
    let server = ws.serve();
    assert_eq!(dates(&server), (rss, atom));
}

#[test]
fn a_restart_serves_the_stored_feeds_at_once() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let server = ws.serve();
    // Asked before anything else (topics render in the background at
    // start; a feed asked first is rendered on demand): the stored entries.
    let first = server.get("/all.atom");
    assert_eq!(first.status, 200);
    assert_eq!(parse_feed(&first.body).entries.len(), 30);
    assert_eq!(server.get("/healthz").status, 200);
    server.wait_ready();
    assert_eq!(parse_feed(&server.get("/all.atom").body).entries.len(), 30);
}

/// Opening a large store takes seconds (sled replays its log); meanwhile
/// the server already answers `/healthz`, says why it is not ready, and
/// holds feed requests until the store is open instead of failing them.
/// Here another holder of the store's lock stands in for a slow open:
/// `serve` waits for the lock (up to 3 s) as it would for the replay.
#[test]
fn healthz_answers_while_the_store_opens() {
    let (ws, _up) = fixture_workspace();
    ws.poll_ok();
    let held = feedloom::store::Store::open(&ws.data).unwrap();
    let server = ws.serve();
    assert_eq!(server.get("/healthz").status, 200);
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 503);
    assert!(
        ready.text().contains("opening the store"),
        "{}",
        ready.text()
    );
    let addr = server.addr;
    let feed = std::thread::spawn(move || get(addr, "/all.atom"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(!feed.is_finished(), "a feed request waits for the store");
    drop(held);
    let feed = feed.join().unwrap();
    assert_eq!(feed.status, 200);
    assert!(!parse_feed(&feed.body).entries.is_empty());
    server.wait_ready();
}
