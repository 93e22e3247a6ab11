//! feedloom behind a real nginx (Debian's `nginx-light`, installed by
//! `.ci/run`) on loopback, serving it under `/feeds/`: every link in every
//! served document points at the proxy's public address and prefix,
//! conditional requests and compression pass through, the feeds
//! validate, and the WebSub hub is found and reached under the prefix.

use feedloom_testkit as common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A running nginx; stopped when dropped.
struct Nginx {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port for nginx, below Linux's ephemeral range (32768–60999): every
/// other listener in the tests binds port 0 and gets an ephemeral port, so
/// none can take this one between the check here and nginx's bind.
fn free_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    let seed = RandomState::new().hash_one(std::process::id());
    (0..1000u64)
        .map(|i| 20_000 + ((seed.wrapping_add(i * 7919)) % 12_000) as u16)
        .find(|port| TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port in 20000-31999")
}

/// Starts nginx on `port`, proxying `/feeds/` to `upstream` and sending
/// the forwarded headers a real deployment sends.
fn start_nginx(dir: &Path, port: u16, upstream: SocketAddr) -> Nginx {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let conf = format!(
        r#"
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 128; }}
http {{
    access_log off;
    client_body_temp_path {tmp};
    proxy_temp_path {tmp};
    fastcgi_temp_path {tmp};
    uwsgi_temp_path {tmp};
    scgi_temp_path {tmp};
    server {{
        listen 127.0.0.1:{port};
        location /feeds/ {{
            proxy_pass http://{upstream}/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
            # The public host, fixed: never the client's own Host header.
            proxy_set_header X-Forwarded-Host 127.0.0.1:{port};
            proxy_set_header X-Forwarded-Prefix /feeds;
        }}
    }}
}}
"#,
        dir = dir.display(),
        tmp = tmp.display(),
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("`nginx` must be installed (apt-get install nginx-light); .ci/run installs it");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut nginx = Nginx { child, addr };
    let log = || std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = nginx.child.try_wait() {
            panic!("nginx exited ({status}):\n{}", log());
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nginx did not start:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nginx
}

/// Every absolute http(s) URL in a document that points at our own server
/// (not at upstream papers or posts) must start with the public base.
/// Every link to one of our documents is under `public`; links to the
/// upstream (the index names each source's URL) are not ours.
fn assert_links_public(
    body: &str,
    public: &str,
    internal: &SocketAddr,
    upstream: &SocketAddr,
    what: &str,
) {
    assert!(
        !body.contains(&internal.to_string()),
        "{what} leaks the internal address {internal}"
    );
    let ours = ["feeds/", ".rss", ".atom", ".json", ".html", "opml.xml"];
    let mut found = 0;
    for (i, _) in body.match_indices("http") {
        let url: String = body[i..]
            .chars()
            .take_while(|c| !matches!(c, '"' | '<' | ' ' | '\'' | '\n'))
            .collect();
        let theirs = url.starts_with(&format!("http://{upstream}/"));
        if url.contains("127.0.0.1") && !theirs && ours.iter().any(|o| url.contains(o)) {
            assert!(
                url.starts_with(public),
                "{what}: {url} is not under {public}"
            );
            found += 1;
        }
    }
    assert!(found > 0, "{what} names no public link at all");
}

fn check_proxied_site(nginx: &Nginx, internal: SocketAddr, upstream: &Upstream, ws: &Workspace) {
    let public = format!("http://{}/feeds/", nginx.addr);
    for path in [
        "",
        "opml.xml",
        "llm.rss",
        "llm.atom",
        "llm.json",
        "llm.html",
        "all.atom?limit=100",
    ] {
        let r = get(nginx.addr, &format!("/feeds/{path}"));
        assert_eq!(r.status, 200, "/feeds/{path}");
        assert_links_public(
            &r.text(),
            &public,
            &internal,
            &upstream.addr,
            &format!("/feeds/{path}"),
        );
    }
    // The feeds parse, and the Atom validates against RFC 4287's schema.
    parse_feed(&get(nginx.addr, "/feeds/llm.rss").body);
    parse_feed(&get(nginx.addr, "/feeds/llm.json").body);
    let atom = get(nginx.addr, "/feeds/all.atom?limit=100").body;
    assert_eq!(parse_feed(&atom).entries.len(), FIXTURE_ENTRIES);
    if let Err(report) = jing_atom(ws.dir.path(), "proxied.atom", &atom) {
        panic!("the proxied Atom is not valid:\n{report}");
    }

    // The WebSub hub is found, and takes requests, under the public base:
    // a topic URL there is accepted (the request then fails on its loopback
    // callback), the internal address is not the hub's.
    let first = get(nginx.addr, "/feeds/llm.atom");
    assert_eq!(
        first.header("link"),
        Some(format!("<{public}websub>; rel=\"hub\", <{public}llm.atom>; rel=\"self\"").as_str())
    );
    for (topic, refused) in [
        (format!("{public}llm.atom"), "hub.callback"),
        (format!("http://{internal}/llm.atom"), "hub.topic"),
    ] {
        let body = format!(
            "hub.mode=subscribe&hub.topic={}&hub.callback=http%3A%2F%2F127.0.0.1%3A9%2Fcb",
            topic.replace(':', "%3A").replace('/', "%2F")
        );
        let r = http_with_body(
            nginx.addr,
            "POST",
            "/feeds/websub",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 400, "{topic}: {}", r.text());
        assert!(r.text().starts_with(refused), "{topic}: {}", r.text());
    }

    // Conditional requests pass through.
    let etag = first
        .header("etag")
        .expect("ETag through the proxy")
        .to_string();
    let lm = first
        .header("last-modified")
        .expect("Last-Modified through the proxy")
        .to_string();
    assert_eq!(
        http(
            nginx.addr,
            "GET",
            "/feeds/llm.atom",
            &[("If-None-Match", &etag)]
        )
        .status,
        304
    );
    assert_eq!(
        http(
            nginx.addr,
            "GET",
            "/feeds/llm.atom",
            &[("If-Modified-Since", &lm)]
        )
        .status,
        304
    );
    assert_eq!(http(nginx.addr, "HEAD", "/feeds/llm.atom", &[]).status, 200);

    // Compression passes through, decoded to the same bytes.
    let gz = http(
        nginx.addr,
        "GET",
        "/feeds/llm.atom",
        &[("Accept-Encoding", "gzip")],
    );
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gz.body[..]),
        &mut decoded,
    )
    .unwrap();
    assert_eq!(decoded, first.body);
    let gz_etag = gz.header("etag").unwrap().to_string();
    let r = http(
        nginx.addr,
        "GET",
        "/feeds/llm.atom",
        &[("If-None-Match", &gz_etag), ("Accept-Encoding", "gzip")],
    );
    assert_eq!(r.status, 304);
}

#[test]
fn behind_nginx_with_trusted_forwarded_headers() {
    let (ws, up) = fixture_workspace();
    ws.poll_ok();
    let port = free_port();
    let public_host = format!("127.0.0.1:{port}");
    let server = ws.serve_with(&["--trust-proxy", "--public-host", &public_host]);
    let nginx = start_nginx(ws.dir.path(), port, server.addr);
    check_proxied_site(&nginx, server.addr, &up, &ws);
    // A client's own Host header changes no link.
    let r = http(
        nginx.addr,
        "GET",
        "/feeds/all.atom",
        &[("Host", "evil.example")],
    );
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(!text.contains("evil.example"), "{text}");
    assert!(text.contains(&format!("http://{public_host}/feeds/all.atom")));
}

#[test]
fn behind_nginx_with_a_configured_base_url() {
    let (ws, up) = fixture_workspace();
    ws.poll_ok();
    // Without header trust, the admin tells feedloom its public address.
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}/feeds/");
    let server = ws.serve_with(&["--base-url", &public]);
    let nginx = start_nginx(ws.dir.path(), port, server.addr);
    check_proxied_site(&nginx, server.addr, &up, &ws);
}
