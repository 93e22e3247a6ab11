//! Shared test harness: a real local upstream HTTP server, the real
//! feedloom binary in a temp workspace, and a tiny HTTP client. Everything
//! runs on 127.0.0.1; nothing touches the internet.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The fixtures folder.
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// How an upstream misbehaves while sending a reply.
#[derive(Clone, Debug, Default)]
pub enum Misbehave {
    #[default]
    No,
    /// Send the head, then one body byte every `0` milliseconds.
    Drip(u64),
    /// Announce the whole body, send this many bytes, then close.
    CutAfter(usize),
    /// Announce and stream a body of this many bytes (never held in memory).
    Huge(usize),
}

/// One canned upstream response.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub misbehave: Misbehave,
}

impl Reply {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            misbehave: Misbehave::No,
        }
    }

    pub fn misbehaving(mut self, how: Misbehave) -> Reply {
        self.misbehave = how;
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn status(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: body.as_bytes().to_vec(),
            misbehave: Misbehave::No,
        }
    }
}

/// A real HTTP/1.1 server on 127.0.0.1 serving canned replies by path.
/// Replies can be changed while it runs, to simulate an upstream changing or
/// breaking.
pub struct Upstream {
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    /// Request heads received, in order (request line + headers).
    pub requests: Arc<Mutex<Vec<String>>>,
    /// When each request head arrived, in the same order.
    pub arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Upstream {
    pub fn start() -> Upstream {
        Upstream::start_on("127.0.0.1")
    }

    /// On another loopback address (127.0.0.2…): a separate host for the
    /// per-host politeness rules.
    pub fn start_on(ip: &str) -> Upstream {
        let listener = TcpListener::bind((ip, 0)).expect("bind upstream");
        let addr = listener.local_addr().unwrap();
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let (r, q, a) = (routes.clone(), requests.clone(), arrivals.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, q, a) = (r.clone(), q.clone(), a.clone());
                std::thread::spawn(move || serve_one(stream, &r, &q, &a));
            }
        });
        Upstream {
            addr,
            routes,
            requests,
            arrivals,
        }
    }

    pub fn set(&self, path: &str, reply: Reply) {
        self.routes.lock().unwrap().insert(path.to_string(), reply);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

fn serve_one(
    mut stream: TcpStream,
    routes: &Mutex<HashMap<String, Reply>>,
    log: &Mutex<Vec<String>>,
    times: &Mutex<Vec<Instant>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    log.lock().unwrap().push(head.clone());
    times.lock().unwrap().push(Instant::now());
    let reply = routes
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or_else(|| Reply::status(404, "no such fixture"));
    // Conditional GET, as a real server does it: an If-None-Match that names
    // the reply's ETag gets 304 and no body.
    let etag = reply
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("etag"))
        .map(|(_, v)| v.clone());
    let inm = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case("if-none-match"))
        })
        .map(|(_, v)| v.trim().to_string());
    if let (Some(etag), Some(inm)) = (etag, inm) {
        if inm == etag {
            // RFC 9110 §15.4.5: a 304 carries the validators and caching
            // headers a 200 would.
            let mut out = String::from("HTTP/1.1 304 Not Modified\r\nConnection: close\r\n");
            for (k, v) in reply
                .headers
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
            {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            let _ = stream.write_all(out.as_bytes());
            return;
        }
    }
    let length = match reply.misbehave {
        Misbehave::Huge(n) => n,
        _ => reply.body.len(),
    };
    let mut out = format!(
        "HTTP/1.1 {} Fixture\r\nContent-Length: {length}\r\nConnection: close\r\n",
        reply.status
    );
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    match reply.misbehave {
        Misbehave::No => {
            let _ = stream.write_all(&reply.body);
        }
        Misbehave::Drip(ms) => {
            for b in &reply.body {
                if stream.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(ms));
            }
        }
        Misbehave::CutAfter(n) => {
            let _ = stream.write_all(&reply.body[..n.min(reply.body.len())]);
            let _ = stream.flush();
            // Closing with bytes announced but unsent: the client sees the
            // connection end mid-body.
        }
        Misbehave::Huge(n) => {
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < n {
                let k = chunk.len().min(n - sent);
                if stream.write_all(&chunk[..k]).is_err() {
                    return;
                }
                sent += k;
            }
        }
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`).
pub fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).expect("connect to feedloom");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

pub fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    http(addr, "GET", path, &[])
}

/// A temp folder with `feeds/` and `data/`, and the real binary run in it.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub feeds: PathBuf,
    pub data: PathBuf,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let feeds = dir.path().join("feeds");
        std::fs::create_dir(&feeds).unwrap();
        let data = dir.path().join("data");
        Workspace { dir, feeds, data }
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.feeds.join(name), text).unwrap();
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_feedloom"));
        c.arg("--data")
            .arg(&self.data)
            .arg("--feeds")
            .arg(&self.feeds);
        c.env("FEEDLOOM_LOG", "warn");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run feedloom")
    }

    /// `poll --once`, asserting it succeeded; returns stdout.
    pub fn poll_ok(&self) -> String {
        let out = self.run(&["poll", "--once"]);
        assert!(
            out.status.success(),
            "poll failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Starts `serve` on a free port and waits until it listens.
    pub fn serve(&self) -> Server {
        self.serve_with(&[])
    }

    pub fn serve_with(&self, extra: &[&str]) -> Server {
        let mut child = self
            .command()
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn feedloom serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|s| s.split('/').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("serve did not report its address: {line:?}"));
        Server { child, addr }
    }
}

/// A running `feedloom serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    pub fn get(&self, path: &str) -> HttpResponse {
        get(self.addr, path)
    }

    /// Waits until every source has been polled once (`/readyz`).
    pub fn wait_ready(&self) {
        let start = Instant::now();
        while get(self.addr, "/readyz").status != 200 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "server never became ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then waits: returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "server ignored SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses a served feed with an independent parser (feed-rs) and checks
/// what every reader needs: each item has an id, a link, a title and a date,
/// and ids are unique. Returns the parsed feed.
pub fn parse_feed(body: &[u8]) -> feed_rs::model::Feed {
    let feed = feed_rs::parser::parse(body).unwrap_or_else(|e| {
        panic!(
            "feed-rs rejects the feed: {e}\n{}",
            String::from_utf8_lossy(body)
        )
    });
    let mut ids = std::collections::HashSet::new();
    for e in &feed.entries {
        assert!(!e.id.is_empty(), "entry without id");
        assert!(ids.insert(e.id.clone()), "duplicate id {}", e.id);
        assert!(!e.links.is_empty(), "entry {} without link", e.id);
        assert!(
            e.title.as_ref().is_some_and(|t| !t.content.is_empty()),
            "entry {} without title",
            e.id
        );
        assert!(
            e.published.is_some() || e.updated.is_some(),
            "entry {} without date",
            e.id
        );
    }
    feed
}

/// Host rules for the local upstream: tests are not polite to themselves
/// (politeness has its own tests).
pub const LOCAL_HOST_RULES: &str =
    "\n[[host]]\nname = \"127.0.0.1\"\nmin_spacing = \"0s\"\nmax_requests = 100000\n";

/// Definitions for the standard fixture upstream: one source per format.
pub fn fixture_sources(up: &Upstream) -> String {
    format!(
        r#"{LOCAL_HOST_RULES}
[[source]]
id = "arxiv"
kind = "feed"
url = "{arxiv}"

[[source]]
id = "lab"
kind = "feed"
url = "{lab}"

[[source]]
id = "group"
kind = "feed"
url = "{group}"

[[source]]
id = "robots"
kind = "feed"
url = "{robots}"

[[source]]
id = "blog"
kind = "html"
url = "{blog}"
[source.select]
item = "article.post"
title = "h2.post-title"
link = "h2.post-title a@href"
summary = "div.excerpt"
date = ["time@datetime", "span.date"]
date_format = "%d/%m/%Y"
author = ".author"
category = ".tag"
"#,
        arxiv = up.url("/arxiv.rss"),
        lab = up.url("/lab.atom"),
        group = up.url("/group.rdf"),
        robots = up.url("/robots.json"),
        blog = up.url("/blog/"),
    )
}

pub const FIXTURE_RULES: &str = r#"
[[tag]]
id = "llm"
any = [{ words = ["LLM", "LLMs", "language model", "language models", "large language model"] }]

[[tag]]
id = "speech"
any = [{ words = ["speech", "TTS", "ASR"] }]

[[tag]]
id = "agents"
any = [{ words = ["agent", "agents", "agentic"] }]

[[topic]]
id = "all"
title = "Everything"

[[topic]]
id = "llm"
title = "LLM"
tags = { any = ["llm"] }

[[topic]]
id = "speech"
title = "Speech"
tags = { any = ["speech"] }

[[topic]]
id = "agents-not-llm"
tags = { all = ["agents"], none = ["llm"] }
"#;

/// Serves every fixture at the paths [`fixture_sources`] names.
pub fn serve_fixtures(up: &Upstream) {
    up.set(
        "/arxiv.rss",
        Reply::ok("application/rss+xml", fixture("arxiv-cs.synthetic.rss")),
    );
    up.set(
        "/lab.atom",
        Reply::ok("application/atom+xml", fixture("lab-news.synthetic.atom")),
    );
    up.set(
        "/group.rdf",
        Reply::ok("application/rdf+xml", fixture("group-blog.synthetic.rdf")),
    );
    up.set(
        "/robots.json",
        Reply::ok(
            "application/feed+json",
            fixture("robotics-digest.synthetic.json"),
        ),
    );
    up.set(
        "/blog/",
        Reply::ok(
            "text/html; charset=utf-8",
            fixture("research-blog.synthetic.html"),
        ),
    );
}

/// Entries the fixtures hold in all: 20 arXiv + 3 Atom + 2 RSS 1.0 + 2 JSON
/// Feed + 3 HTML (the fourth card has no title and is skipped).
pub const FIXTURE_ENTRIES: usize = 30;

/// A workspace with the fixture sources and rules, and its upstream.
pub fn fixture_workspace() -> (Workspace, Upstream) {
    let up = Upstream::start();
    serve_fixtures(&up);
    let ws = Workspace::new();
    ws.write("sources.toml", &fixture_sources(&up));
    ws.write("rules.toml", FIXTURE_RULES);
    (ws, up)
}

/// The 50 real entries of the captured trending page's props.
pub fn hf_entries() -> Vec<serde_json::Value> {
    let props: serde_json::Value =
        serde_json::from_slice(&fixture("hf-trending-2026-10-07.props.json")).unwrap();
    props["dailyPapers"].as_array().unwrap().clone()
}

/// SYNTHETIC: an `/api/daily_papers` response of `n` entries starting at
/// index `start` of an endless list: the 50 real captured entries, then
/// copies of them with ids `2699.NNNNN` and titles marked as copies (no
/// capture of a 100-paper API response exists).
pub fn hf_api_page(start: usize, n: usize) -> Vec<u8> {
    let real = hf_entries();
    let items: Vec<serde_json::Value> = (start..start + n)
        .map(|i| {
            let mut e = real[i % real.len()].clone();
            if i >= real.len() {
                let id = format!("2699.{i:05}");
                let title = format!("{} (copy {i})", e["paper"]["title"].as_str().unwrap());
                e["paper"]["id"] = id.into();
                e["paper"]["title"] = title.clone().into();
                e["title"] = title.into();
            }
            e
        })
        .collect();
    serde_json::to_vec(&items).unwrap()
}

/// Validates an Atom document against RFC 4287's RELAX NG schema with
/// `jing` (Debian package `jing`; `.ci/run` installs it): `Err` with jing's
/// report when it is invalid. A missing jing fails the test.
pub fn jing_atom(dir: &Path, name: &str, atom: &[u8]) -> Result<(), String> {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/atom.rnc");
    let file = dir.join(name);
    std::fs::write(&file, atom).unwrap();
    let out = Command::new("jing")
        .arg("-c")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("`jing` must be installed (apt-get install jing); .ci/run installs it");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
