//! Durability: the real binary is killed with SIGKILL at random moments
//! while it ingests from a local upstream, restarted, and killed again. After
//! every round, a completed poll cycle's entries must all be there, none
//! duplicated, ids and published dates unchanged, and the feeds must serve.
//!
//! 20 rounds by default; `FEEDLOOM_CRASH_ROUNDS=500 cargo test --test crash
//! -- --nocapture` for a longer run. The seed is printed; set
//! `FEEDLOOM_CRASH_SEED` to replay one.

use feedloom_testkit as common;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// A feed whose item `i` always has the same link, title and date, so a
/// later round lists earlier items again plus new ones; the text changes
/// every round, so every round also updates stored entries.
fn feed(source: usize, items: usize, round: usize) -> String {
    let items: String = (0..items)
        .map(|i| {
            format!(
                "<item><title>Source {source} item {i}</title><link>https://example.org/{source}/{i}</link><description>Body {i}, round {round}.</description><pubDate>{}</pubDate></item>",
                (chrono::DateTime::<chrono::Utc>::UNIX_EPOCH + chrono::Duration::days(20_000 + i as i64)).to_rfc2822()
            )
        })
        .collect();
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>s{source}</title><link>https://example.org/</link><description>d</description>{items}</channel></rss>")
}

/// xorshift: enough randomness for kill timing, reproducible from a seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// id → published, of every entry, read through a freshly started server.
fn snapshot(ws: &Workspace) -> HashMap<String, String> {
    let server = ws.serve();
    let resp = server.get("/all.json?limit=500");
    assert_eq!(resp.status, 200, "the feeds do not serve after a crash");
    let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    let items = json["items"].as_array().unwrap();
    let map: HashMap<String, String> = items
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["date_published"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(map.len(), items.len(), "an entry is duplicated");
    map
}

#[test]
fn sigkill_at_random_moments_loses_nothing_completed() {
    let rounds: usize = std::env::var("FEEDLOOM_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("FEEDLOOM_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("crash test: {rounds} rounds, FEEDLOOM_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let up = Upstream::start();
    let sources = 3;
    let mut defs = String::from(LOCAL_HOST_RULES);
    for s in 0..sources {
        defs.push_str(&format!(
            "[[source]]\nid = \"s{s}\"\nkind = \"feed\"\nurl = \"{}\"\n",
            up.url(&format!("/s{s}"))
        ));
    }
    defs.push_str("[[topic]]\nid = \"all\"\nmax_items = 500\n");
    let ws = Workspace::new();
    ws.write("defs.toml", &defs);

    let mut committed: HashMap<String, String> = HashMap::new();
    let mut kills_mid_run = 0;
    for round in 0..rounds {
        // Growing, then steady below the feed's 500-item cap.
        let per_source = (10 + 5 * round).min(150);
        for s in 0..sources {
            up.set(
                &format!("/s{s}"),
                Reply::ok("application/rss+xml", feed(s, per_source, round)),
            );
        }
        // Ingest, and kill it at a random moment.
        let mut child = ws
            .command()
            .args(["poll", "--once"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = Duration::from_millis(rng.next(60));
        let started = Instant::now();
        while started.elapsed() < delay {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if child.try_wait().unwrap().is_none() {
            kills_mid_run += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        // The store opens, and everything a completed cycle stored is there.
        let after_crash = snapshot(&ws);
        for (id, published) in &committed {
            assert_eq!(
                after_crash.get(id),
                Some(published),
                "round {round}: entry {id} lost or re-dated after a crash"
            );
        }

        // A completed cycle.
        ws.poll_ok();
        let now = snapshot(&ws);
        assert_eq!(
            now.len(),
            sources * per_source,
            "round {round}: every listed item once"
        );
        for (id, published) in &committed {
            assert_eq!(
                now.get(id),
                Some(published),
                "round {round}: entry {id} changed"
            );
        }
        committed = now;
    }
    println!("crash test: {kills_mid_run} of {rounds} kills landed mid-run");
    let server = ws.serve();
    assert_eq!(
        parse_feed(&server.get("/all.atom?limit=500").body)
            .entries
            .len(),
        committed.len()
    );
}
