//! The fetcher's politeness against a real local server: 429 / 503 with a
//! delay stop every request to that host until the delay is over, and a
//! request budget caps requests per window, without sending anything.

use feedloom_testkit as common;

use std::time::Duration;

use std::collections::HashMap;

use feedloom::fetch::{Budget, FetchError, FetchRequest, Fetched, Fetcher, HostPolicy};
use url::Url;

use common::{Reply, Upstream};

fn url(up: &Upstream, path: &str) -> Url {
    Url::parse(&up.url(path)).unwrap()
}

/// A fetcher without spacing for the local host, so these tests measure
/// one rule at a time.
fn fetcher() -> Fetcher {
    let local = HostPolicy {
        min_spacing: Duration::ZERO,
        ..HostPolicy::default()
    };
    Fetcher::new(HashMap::from([("127.0.0.1".to_string(), local)])).unwrap()
}

fn sent(up: &Upstream) -> usize {
    up.requests.lock().unwrap().len()
}

fn reply(status: u16, headers: &[(&str, &str)]) -> Reply {
    let mut r = Reply::status(status, "slow down");
    r.headers
        .extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    r
}

#[tokio::test]
async fn a_429_with_retry_after_pauses_the_whole_host() {
    let up = Upstream::start();
    up.set("/a", reply(429, &[("Retry-After", "120")]));
    up.set("/b", Reply::ok("application/json", "[]"));
    let f = fetcher();
    match f.fetch(&FetchRequest::new(&url(&up, "/a"))).await {
        Err(e @ FetchError::Status { status: 429, .. }) => {
            assert!(e.to_string().contains("Retry-After: 120"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Another path on the same host, from any source: refused locally.
    match f.fetch(&FetchRequest::new(&url(&up, "/b"))).await {
        Err(e @ FetchError::RateLimited { .. }) => {
            assert_eq!(e.kind(), "rate_limited");
            assert!(e.to_string().contains("no request before"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sent(&up), 1, "nothing was sent while paused");
}

#[tokio::test]
async fn the_ratelimit_header_counts_too_and_a_bare_503_does_not_pause() {
    let up = Upstream::start();
    up.set("/down", Reply::status(503, "maintenance"));
    up.set("/ok", Reply::ok("application/json", "[]"));
    let f = fetcher();
    assert!(f
        .fetch(&FetchRequest::new(&url(&up, "/down")))
        .await
        .is_err());
    assert!(
        matches!(
            f.fetch(&FetchRequest::new(&url(&up, "/ok"))).await,
            Ok(Fetched::Body { .. })
        ),
        "an outage is not a rate limit"
    );

    up.set("/limited", reply(429, &[("RateLimit", "\"api\";r=0;t=55")]));
    assert!(f
        .fetch(&FetchRequest::new(&url(&up, "/limited")))
        .await
        .is_err());
    assert!(matches!(
        f.fetch(&FetchRequest::new(&url(&up, "/ok"))).await,
        Err(FetchError::RateLimited { .. })
    ));
    assert_eq!(sent(&up), 3);
}

#[tokio::test]
async fn a_budget_caps_requests_per_window() {
    let up = Upstream::start();
    up.set("/p", Reply::ok("application/json", "[]"));
    let f = fetcher();
    let budget = Budget {
        key: "local api".into(),
        max_requests: 2,
        window: Duration::from_secs(300),
    };
    for _ in 0..2 {
        assert!(f
            .fetch(&FetchRequest {
                budget: Some(&budget),
                ..FetchRequest::new(&url(&up, "/p"))
            })
            .await
            .is_ok());
    }
    match f
        .fetch(&FetchRequest {
            budget: Some(&budget),
            ..FetchRequest::new(&url(&up, "/p"))
        })
        .await
    {
        Err(e @ FetchError::Budget { .. }) => {
            assert!(e.to_string().contains("`local api` (2 per 300s)"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sent(&up), 2);
    // Requests outside the budget's key are not held back.
    assert!(f.fetch(&FetchRequest::new(&url(&up, "/p"))).await.is_ok());

    // A budget that frees up within a few seconds waits instead of failing.
    let short = Budget {
        key: "short".into(),
        max_requests: 1,
        window: Duration::from_millis(300),
    };
    assert!(f
        .fetch(&FetchRequest {
            budget: Some(&short),
            ..FetchRequest::new(&url(&up, "/p"))
        })
        .await
        .is_ok());
    let started = std::time::Instant::now();
    assert!(f
        .fetch(&FetchRequest {
            budget: Some(&short),
            ..FetchRequest::new(&url(&up, "/p"))
        })
        .await
        .is_ok());
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "it waited for the window"
    );
}

#[tokio::test]
async fn a_reload_keeps_spent_budgets_and_pauses() {
    let up = Upstream::start();
    let other = Upstream::start_on("127.0.0.3");
    up.set("/p", Reply::ok("application/json", "[]"));
    other.set("/slow", reply(429, &[("Retry-After", "600")]));
    let policies = || {
        HashMap::from([
            (
                "127.0.0.1".to_string(),
                HostPolicy {
                    min_spacing: Duration::ZERO,
                    max_requests: 2,
                    window: Duration::from_secs(300),
                },
            ),
            (
                "127.0.0.3".to_string(),
                HostPolicy {
                    min_spacing: Duration::ZERO,
                    ..HostPolicy::default()
                },
            ),
        ])
    };
    let f = Fetcher::new(policies()).unwrap();
    for _ in 0..2 {
        assert!(f.fetch(&FetchRequest::new(&url(&up, "/p"))).await.is_ok());
    }
    assert!(f
        .fetch(&FetchRequest::new(&url(&other, "/slow")))
        .await
        .is_err());

    let (hosts, budgets) = f.politeness();
    let names: Vec<&str> = hosts.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(names, ["127.0.0.1", "127.0.0.3"]);
    assert_eq!((hosts[0].requests, hosts[0].blocked_until), (2, None));
    assert_eq!(hosts[1].requests, 1);
    assert!(hosts[1].blocked_until.unwrap() > chrono::Utc::now() + chrono::Duration::minutes(9));
    let local = budgets.iter().find(|b| b.key == "host 127.0.0.1").unwrap();
    assert_eq!(
        (local.used, local.max_requests, local.window_seconds),
        (2, 2, 300)
    );

    // After a reload the same gate applies: the budget stays spent and the
    // pause stays in force, so editing definitions cannot reset politeness.
    let reloaded = f.with_policies(policies());
    assert!(matches!(
        reloaded.fetch(&FetchRequest::new(&url(&up, "/p"))).await,
        Err(FetchError::Budget { .. })
    ));
    assert!(matches!(
        reloaded
            .fetch(&FetchRequest::new(&url(&other, "/slow")))
            .await,
        Err(FetchError::RateLimited { .. })
    ));
    assert_eq!((sent(&up), sent(&other)), (2, 1));
}

/// The stored schedule of `source`, from `/status`: seconds from the last
/// attempt to the next poll.
fn scheduled_gap(ws: &common::Workspace, source: &str) -> (i64, serde_json::Value) {
    let server = ws.serve();
    let status: serde_json::Value = serde_json::from_slice(&server.get("/status").body).unwrap();
    let s = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == source)
        .unwrap()
        .clone();
    let at = |k: &str| chrono::DateTime::parse_from_rfc3339(s[k].as_str().unwrap()).unwrap();
    ((at("next_poll") - at("last_attempt")).num_seconds(), s)
}

fn feed_xml() -> String {
    String::from_utf8(common::fixture("group-blog.synthetic.rdf")).unwrap()
}

#[test]
fn conditional_get_and_upstream_freshness() {
    let up = Upstream::start();
    up.set(
        "/feed",
        Reply::ok("application/rss+xml", feed_xml())
            .with_header("ETag", "\"v1\"")
            .with_header("Cache-Control", "max-age=7200"),
    );
    let ws = common::Workspace::new();
    ws.write(
        "d.toml",
        &format!(
            "{}[[source]]\nid = \"s\"\nkind = \"feed\"\nurl = \"{}\"\ninterval = \"1h\"\n",
            common::LOCAL_HOST_RULES,
            up.url("/feed")
        ),
    );
    assert!(ws.poll_ok().contains("s: fetched 2 items: 2 new"));
    let second = ws.poll_ok();
    assert!(
        second.contains("s: unchanged upstream (304 Not Modified)"),
        "{second}"
    );
    let last = up
        .requests
        .lock()
        .unwrap()
        .last()
        .unwrap()
        .to_ascii_lowercase();
    assert!(last.contains("if-none-match: \"v1\""), "{last}");
    // max-age=7200 beats the 1 h interval as a floor (±10% jitter).
    let (gap, _) = scheduled_gap(&ws, "s");
    assert!(
        (6480..=7920).contains(&gap),
        "next poll {gap}s after the last"
    );
}

#[test]
fn one_request_at_a_time_per_host_with_spacing() {
    let up = Upstream::start();
    let mut defs = String::from("[[host]]\nname = \"127.0.0.1\"\nmin_spacing = \"300ms\"\n");
    for i in 0..4 {
        up.set(
            &format!("/f{i}"),
            Reply::ok("application/rss+xml", feed_xml()),
        );
        defs.push_str(&format!(
            "[[source]]\nid = \"s{i}\"\nkind = \"feed\"\nurl = \"{}\"\n",
            up.url(&format!("/f{i}"))
        ));
    }
    let ws = common::Workspace::new();
    ws.write("d.toml", &defs);
    ws.poll_ok();
    let arrivals = up.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 4);
    for pair in arrivals.windows(2) {
        let gap = pair[1].duration_since(pair[0]);
        assert!(
            gap >= Duration::from_millis(300),
            "requests to one host only {gap:?} apart"
        );
    }
}

#[test]
fn repeated_failures_back_off_exponentially() {
    let up = Upstream::start();
    up.set("/down", Reply::status(500, "down"));
    let ws = common::Workspace::new();
    ws.write(
        "d.toml",
        &format!(
            "{}[[source]]\nid = \"s\"\nkind = \"feed\"\nurl = \"{}\"\ninterval = \"10m\"\n",
            common::LOCAL_HOST_RULES,
            up.url("/down")
        ),
    );
    for _ in 0..3 {
        assert!(!ws.run(&["poll", "--once"]).status.success());
    }
    // Third failure in a row: 10 min × 2² = 40 min (±10%).
    let (gap, s) = scheduled_gap(&ws, "s");
    assert_eq!(s["consecutive_failures"], 3);
    assert!(
        (2160..=2640).contains(&gap),
        "next poll {gap}s after the last"
    );
    // Success resets it.
    up.set("/down", Reply::ok("application/rss+xml", feed_xml()));
    ws.poll_ok();
    let (gap, s) = scheduled_gap(&ws, "s");
    assert_eq!(s["consecutive_failures"], 0);
    assert!(
        (540..=660).contains(&gap),
        "next poll {gap}s after the last"
    );
}

#[test]
fn a_permanent_redirect_is_followed_and_reported_once() {
    let up = Upstream::start();
    up.set(
        "/old",
        Reply::status(301, "").with_header("Location", "/new"),
    );
    up.set("/new", Reply::ok("application/rss+xml", feed_xml()));
    let ws = common::Workspace::new();
    ws.write(
        "d.toml",
        &format!(
            "{}[[source]]\nid = \"s\"\nkind = \"feed\"\nurl = \"{}\"\n",
            common::LOCAL_HOST_RULES,
            up.url("/old")
        ),
    );
    let first = ws.run(&["poll", "--once"]);
    assert!(String::from_utf8_lossy(&first.stdout).contains("s: fetched 2 items: 2 new"));
    let log = String::from_utf8_lossy(&first.stderr);
    assert!(
        log.contains(&format!("permanently redirected to {}", up.url("/new"))),
        "{log}"
    );
    assert!(log.contains("update the source's `url`"), "{log}");
    let second = ws.run(&["poll", "--once"]);
    assert!(
        !String::from_utf8_lossy(&second.stderr).contains("permanently redirected"),
        "logged once per change"
    );
}

/// `serve` with many sources on one host that asks for a long spacing and
/// one source on another host: the busy host's polls wait for their turn
/// without holding the poll slots, so the other host's source is polled as
/// soon as its scheduler starts (it starts 200 ms × its index after the
/// others, see `service::spawn_schedulers`), not after the busy host's
/// queue.
#[test]
fn serve_polls_a_free_host_while_a_busy_one_waits_out_its_spacing() {
    let busy = Upstream::start();
    let free = Upstream::start_on("127.0.0.2");
    let mut defs = String::from("[[host]]\nname = \"127.0.0.1\"\nmin_spacing = \"3s\"\n");
    let source = |id: String, url: String| {
        format!("[[source]]\nid = \"{id}\"\nkind = \"feed\"\nurl = \"{url}\"\ninterval = \"1h\"\n")
    };
    for i in 0..24 {
        busy.set(
            &format!("/f{i}"),
            Reply::ok("application/rss+xml", feed_xml()),
        );
        if i == 20 {
            free.set("/f", Reply::ok("application/rss+xml", feed_xml()));
            defs.push_str(&source("free".into(), free.url("/f")));
        }
        defs.push_str(&source(format!("busy{i}"), busy.url(&format!("/f{i}"))));
    }
    let ws = common::Workspace::new();
    ws.write("d.toml", &defs);
    let _server = ws.serve();
    let started = std::time::Instant::now();
    while free.arrivals.lock().unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the free host was never polled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let waited = free.arrivals.lock().unwrap()[0].duration_since(started);
    // Its scheduler starts 4 s in; queued behind the busy host's polls,
    // which hold every slot while they wait 3 s apart, it came after 12 s.
    assert!(
        waited < Duration::from_secs(8),
        "the free host waited {waited:?} behind the busy one"
    );
    assert!(
        busy.arrivals.lock().unwrap().len() < 6,
        "the busy host was not spaced"
    );
}
