//! A real HTTP/1.1 server on 127.0.0.1 serving canned replies by path,
//! including conditional GET and ways to misbehave (drip, cut, huge).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// Requests being answered now, and the most at once (shared by the
    /// upstreams started with [`Upstream::start_sharing`]).
    pub busy: Arc<Busy>,
}

/// Requests being answered at once, across one or more upstreams.
#[derive(Debug, Default)]
pub struct Busy {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Busy {
    /// The most requests answered at once so far.
    pub fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }

    fn enter(&self) -> BusyGuard<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        BusyGuard(self)
    }
}

struct BusyGuard<'a>(&'a Busy);

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Upstream {
    pub fn start() -> Upstream {
        Upstream::start_on("127.0.0.1")
    }

    /// On another loopback address (127.0.0.2…): a separate host for the
    /// per-host politeness rules.
    pub fn start_on(ip: &str) -> Upstream {
        Upstream::start_sharing(ip, Arc::default())
    }

    /// On `ip`, counting the requests it answers in `busy`, which other
    /// upstreams may share: how many requests a client has under way at
    /// once across hosts.
    pub fn start_sharing(ip: &str, busy: Arc<Busy>) -> Upstream {
        let listener = TcpListener::bind((ip, 0)).expect("bind upstream");
        let addr = listener.local_addr().unwrap();
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let (r, q, a, b) = (
            routes.clone(),
            requests.clone(),
            arrivals.clone(),
            busy.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, q, a, b) = (r.clone(), q.clone(), a.clone(), b.clone());
                std::thread::spawn(move || serve_one(stream, &r, &q, &a, &b));
            }
        });
        Upstream {
            addr,
            routes,
            requests,
            arrivals,
            busy,
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
    busy: &Busy,
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
    // Counted as busy until just before the byte that lets the client
    // finish: a client that then starts its next request must not find
    // this one still counted.
    let mut answering = Some(busy.enter());
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
            drop(answering.take());
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
    if matches!(reply.misbehave, Misbehave::No) || reply.body.is_empty() {
        drop(answering.take());
    }
    let _ = stream.write_all(out.as_bytes());
    match reply.misbehave {
        Misbehave::No => {
            let _ = stream.write_all(&reply.body);
        }
        Misbehave::Drip(ms) => {
            for (i, b) in reply.body.iter().enumerate() {
                if i + 1 == reply.body.len() {
                    drop(answering.take());
                }
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
