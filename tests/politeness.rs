//! The fetcher's politeness against a real local server: 429 / 503 with a
//! delay stop every request to that host until the delay is over, and a
//! request budget caps requests per window, without sending anything.

mod common;

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
