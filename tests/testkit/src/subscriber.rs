//! A WebSub subscriber on 127.0.0.1, written from the Recommendation: its
//! callback answers the hub's verification of intent as told (echoing the
//! challenge, or not), and records every request the hub makes, with the
//! bodies of content distributions.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the callback answers a verification of intent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200 with the challenge: the subscriber confirms.
    Echo,
    /// 200 with something else.
    Wrong,
    /// This status, with the challenge.
    Status(u16),
    /// Nothing, for a minute (a callback that hangs).
    Hang,
}

/// One request the hub made to the callback.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    /// The query parameters (`hub.mode`, `hub.topic`, …).
    pub query: HashMap<String, String>,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// When the request was read.
    pub at: Instant,
}

pub struct Subscriber {
    pub addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
    /// Statuses to answer the next deliveries (POSTs) with, in order;
    /// then 200.
    delivery_answers: Arc<Mutex<Vec<u16>>>,
    pub calls: Arc<Mutex<Vec<Call>>>,
}

impl Subscriber {
    pub fn start(answer: Answer) -> Subscriber {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind subscriber");
        let addr = listener.local_addr().unwrap();
        let answer = Arc::new(Mutex::new(answer));
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let delivery_answers: Arc<Mutex<Vec<u16>>> = Arc::default();
        let (a, d, c) = (answer.clone(), delivery_answers.clone(), calls.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (a, d, c) = (a.clone(), d.clone(), c.clone());
                std::thread::spawn(move || serve_one(stream, &a, &d, &c));
            }
        });
        Subscriber {
            addr,
            answer,
            delivery_answers,
            calls,
        }
    }

    /// Answers the next deliveries with these statuses, then with 200;
    /// status 0 answers nothing for a minute (a callback that hangs).
    pub fn answer_deliveries(&self, statuses: &[u16]) {
        *self.delivery_answers.lock().unwrap() = statuses.to_vec();
    }

    /// Waits up to `within` until `n` deliveries (POSTs) came; all of them.
    pub fn wait_deliveries(&self, n: usize, within: Duration) -> Vec<Call> {
        let start = Instant::now();
        loop {
            let got = self.calls_of("POST");
            if got.len() >= n || start.elapsed() > within {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The callback URL (`path` may carry a query of its own).
    pub fn callback(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    /// The calls so far with `hub.mode` = `mode` (`POST` for deliveries).
    pub fn calls_of(&self, mode: &str) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| {
                c.query.get("hub.mode").map(String::as_str) == Some(mode)
                    || (mode == "POST" && c.method == "POST")
            })
            .cloned()
            .collect()
    }

    /// Waits up to `within` for a call with `hub.mode` = `mode`; the first.
    pub fn wait_for(&self, mode: &str, within: Duration) -> Option<Call> {
        let start = Instant::now();
        loop {
            if let Some(c) = self.calls_of(mode).into_iter().next() {
                return Some(c);
            }
            if start.elapsed() > within {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn serve_one(
    mut stream: TcpStream,
    answer: &Mutex<Answer>,
    delivery_answers: &Mutex<Vec<u16>>,
    calls: &Mutex<Vec<Call>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or("/").to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end..].to_vec();
    while body.len() < length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    let query: HashMap<String, String> = target
        .split_once('?')
        .map(|(_, q)| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let challenge = query.get("hub.challenge").cloned();
    let post = method == "POST";
    calls.lock().unwrap().push(Call {
        method,
        query,
        headers,
        body,
        at: Instant::now(),
    });
    if post {
        let mut answers = delivery_answers.lock().unwrap();
        let status = if answers.is_empty() {
            200
        } else {
            answers.remove(0)
        };
        let _ = stream.write_all(
            format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        return;
    }
    let answer = *answer.lock().unwrap();
    if answer == Answer::Hang {
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let (status, text) = match (challenge, answer) {
        (Some(c), Answer::Echo) => (200, c),
        (Some(_), Answer::Wrong) => (200, "not the challenge".to_string()),
        (Some(c), Answer::Status(s)) => (s, c),
        (None, _) | (_, Answer::Hang) => (200, String::new()),
    };
    let _ = stream.write_all(
        format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        )
        .as_bytes(),
    );
}
