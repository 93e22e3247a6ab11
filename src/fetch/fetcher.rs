//! [`Fetcher`]: one fetch, start to end. It chains the other parts of this
//! module (the address guard, the politeness gate, the clients, header
//! reading and redirects), waits where the gate says to wait, and holds
//! the time and size limits of a fetch: one deadline for every hop and
//! the body, and a body cap enforced as bytes arrive.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH, RETRY_AFTER};
use url::Url;

use super::client::{classify, outbound_client};
use super::gate::{Decision, Gate};
use super::guard::{may_reach_inside, refuse_internal_literal};
use super::headers::{header, meta, pause_asked};
use super::policy::{Budget, BudgetStatus, HostPolicy, HostStatus};
use super::redirect::{self, Chain, MAX_REDIRECTS};
use super::{FetchError, FetchRequest, Fetched};

/// The HTTP client every source shares (one connection pool, one politeness
/// gate).
///
/// SECURITY: every hop is fetched through a client that cannot connect to
/// internal addresses ([`super::is_internal`]), so no feed, link or
/// redirect can reach `127.0.0.1`, `169.254.169.254` or the LAN, unless the
/// definitions say so: a source declared `internal = true`, or a hop on
/// the origin of a configured URL that names an internal address itself (a
/// local service, the tests' upstream). See [`FetchRequest::internal`].
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// For public sources: internal addresses filtered out of DNS.
    public: reqwest::Client,
    policies: Arc<HashMap<String, HostPolicy>>,
    gate: Arc<Mutex<Gate>>,
}

/// One hop's answer.
enum Hop {
    Done(Box<Fetched>),
    Redirect { status: u16, location: Url },
}

impl Fetcher {
    /// A fetcher with per-host rules (hosts not listed get
    /// [`HostPolicy::default`]).
    pub fn new(policies: HashMap<String, HostPolicy>) -> Result<Fetcher, FetchError> {
        let client = outbound_client(false)?;
        let public = outbound_client(true)?;
        Ok(Fetcher {
            client,
            public,
            policies: Arc::new(policies),
            gate: Arc::default(),
        })
    }

    /// The same client and politeness gate under new per-host rules: a
    /// definitions reload must not forget spacing, budgets already spent,
    /// or a host's `Retry-After`, nor drop the connection pool.
    pub fn with_policies(&self, policies: HashMap<String, HostPolicy>) -> Fetcher {
        Fetcher {
            client: self.client.clone(),
            public: self.public.clone(),
            policies: Arc::new(policies),
            gate: self.gate.clone(),
        }
    }

    /// The gate's state. Never held across an `.await`.
    fn gate(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().expect("fetch gate lock")
    }

    /// Every host contacted and every budget in use, sorted by name.
    pub fn politeness(&self) -> (Vec<HostStatus>, Vec<BudgetStatus>) {
        self.gate().status(Instant::now(), &self.policies)
    }

    /// Hosts whose state is kept now (at most [`super::MAX_HOSTS`], listed
    /// ones aside), and the requests sent to unlisted hosts since
    /// forgotten.
    pub fn hosts_tracked(&self) -> (usize, u64) {
        self.gate().tracked()
    }

    /// When `host` asked not to be contacted before, if it did.
    pub fn blocked_until(&self, host: &str) -> Option<DateTime<Utc>> {
        self.gate().blocked_until(host, Instant::now())
    }

    /// Restores a host's back-off remembered from an earlier run.
    pub fn block_until(&self, host: &str, until: DateTime<Utc>) {
        let now = (Instant::now(), Utc::now());
        self.gate().pause_until(host, until, now, &self.policies);
    }

    /// Obeys the `Crawl-delay` `host`'s `robots.txt` asks for (capped at
    /// [`super::MAX_CRAWL_DELAY`]) from now on, for every request to it.
    pub fn set_crawl_delay(&self, host: &str, delay: Duration) {
        let host = host.to_ascii_lowercase();
        self.gate()
            .set_crawl_delay(&host, delay, Instant::now(), &self.policies);
    }

    /// The lock that keeps one request in flight per host.
    fn in_flight(&self, host: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.gate().in_flight(host, Instant::now(), &self.policies)
    }

    /// Waits until `host` could take a request: none in flight, its
    /// spacing since the last one over. Reserves nothing (the request's
    /// own admission does), so callers wait here before taking scarcer
    /// resources such as a poll slot, and a slot is never held by a poll
    /// that only waits for its host.
    pub async fn wait_turn(&self, host: &str) {
        let host = host.to_ascii_lowercase();
        drop(self.in_flight(&host).lock().await);
        let turn = self.gate().turn_at(&host, &self.policies);
        if let Some(at) = turn {
            tokio::time::sleep_until(at.into()).await;
        }
    }

    /// GETs `req.url`, following redirects, all within `req.timeout`; each
    /// hop guarded unless [`may_reach_inside`] says otherwise.
    pub async fn fetch(&self, req: &FetchRequest<'_>) -> Result<Fetched, FetchError> {
        let mut url = req.url.clone();
        let mut chain = Chain::new(&url);
        // The upstream's time, shared by every hop: each request may take
        // what the earlier ones left. Waiting for the host's turn (its
        // spacing, another source's request in flight) is not the
        // upstream's time and does not count.
        let mut time_left = req.timeout;
        loop {
            debug_assert!(chain.followed() <= MAX_REDIRECTS);
            let guarded = !may_reach_inside(req, &url);
            if guarded {
                refuse_internal_literal(&url)?;
            }
            let first = chain.followed() == 0;
            match self.hop(&url, req, first, guarded, &mut time_left).await? {
                Hop::Done(fetched) => {
                    let mut fetched = *fetched;
                    let meta = match &mut fetched {
                        Fetched::NotModified(m) | Fetched::Body { meta: m, .. } => m,
                    };
                    meta.moved_to = chain.moved_to();
                    meta.final_url = Some(url);
                    return Ok(fetched);
                }
                Hop::Redirect { status, location } => {
                    url = chain.follow(&url, status, location, req.allow_http_redirect)?;
                }
            }
        }
    }

    /// One request under its host's rules: one in flight per host, then
    /// the gate's admission, then the request.
    async fn hop(
        &self,
        url: &Url,
        req: &FetchRequest<'_>,
        first: bool,
        guarded: bool,
        time_left: &mut Duration,
    ) -> Result<Hop, FetchError> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let in_flight = self.in_flight(&host);
        let _one_at_a_time = in_flight.lock().await;
        self.admit(&host, req.budget).await?;
        let started = Instant::now();
        let result = self
            .send(url, req, first, guarded, started + *time_left, &host)
            .await;
        *time_left = time_left.saturating_sub(started.elapsed());
        self.gate().done(&host, Instant::now(), &self.policies);
        result
    }

    /// Waits as long as the gate says, until it admits the request or
    /// refuses it.
    async fn admit(&self, host: &str, budget: Option<&Budget>) -> Result<(), FetchError> {
        loop {
            let decision = self
                .gate()
                .decide(host, budget, Instant::now(), &self.policies);
            match decision {
                Decision::Admit => return Ok(()),
                Decision::WaitUntil(at) => tokio::time::sleep_until(at.into()).await,
                Decision::Refuse(e) => return Err(e),
            }
        }
    }

    async fn send(
        &self,
        url: &Url,
        req: &FetchRequest<'_>,
        first: bool,
        guarded: bool,
        deadline: Instant,
        host: &str,
    ) -> Result<Hop, FetchError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(FetchError::Timeout(req.timeout));
        }
        let client = if guarded { &self.public } else { &self.client };
        let mut builder = client.get(url.clone()).timeout(left);
        if let (true, Some(v)) = (first, req.validators) {
            if let Some(etag) = &v.etag {
                builder = builder.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &v.last_modified {
                builder = builder.header(IF_MODIFIED_SINCE, lm);
            }
        }
        let resp = builder.send().await.map_err(|e| classify(e, req.timeout))?;
        let status = resp.status();
        let headers = resp.headers();
        if let Some(location) = redirect::target(url, status, headers)? {
            let status = status.as_u16();
            return Ok(Hop::Redirect { status, location });
        }
        let now = Utc::now();
        let meta = meta(status, headers, now);
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Hop::Done(Box::new(Fetched::NotModified(meta))));
        }
        if let Some(delay) = pause_asked(status, headers, now) {
            let now = (Instant::now(), now);
            self.gate().pause(host, delay, now, &self.policies);
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after: header(headers, RETRY_AFTER),
            });
        }
        let bytes = read_body(resp, req, deadline).await?;
        Ok(Hop::Done(Box::new(Fetched::Body { bytes, meta })))
    }
}

/// The body, streamed with the cap enforced as bytes arrive: a lying or
/// absent Content-Length cannot make us buffer more than `req.max_body`,
/// nor a slow drip outlast `deadline`.
async fn read_body(
    mut resp: reqwest::Response,
    req: &FetchRequest<'_>,
    deadline: Instant,
) -> Result<Vec<u8>, FetchError> {
    let limit = req.max_body;
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(FetchError::TooLarge { limit });
    }
    let mut bytes = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = match tokio::time::timeout(left, resp.chunk()).await {
            Err(_) => return Err(FetchError::Timeout(req.timeout)),
            Ok(r) => r.map_err(|e| match classify(e, req.timeout) {
                FetchError::Other(m) | FetchError::Connect(m) => FetchError::Body(m),
                other => other,
            })?,
        };
        let Some(chunk) = chunk else { break };
        if bytes.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real local server answering every request with `reply`.
    fn serve(reply: &'static str) -> std::net::SocketAddr {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let body = reply.replace("{addr}", &addr.to_string());
                let _ = s.write_all(body.as_bytes());
            }
        });
        addr
    }

    fn loopback(spacing: Duration) -> Fetcher {
        let policy = HostPolicy {
            min_spacing: spacing,
            ..HostPolicy::default()
        };
        Fetcher::new(HashMap::from([("127.0.0.1".to_string(), policy)])).unwrap()
    }

    // SECURITY: a public source's redirect into the operator's network.
    // A source on 127.0.0.1 is the operator's own, but only on its origin:
    // a redirect anywhere else inside is a stranger's choice.
    #[tokio::test]
    async fn redirects_inside_are_refused_unless_declared_internal() {
        let fetcher = loopback(Duration::ZERO);
        for target in [
            "http://127.0.0.1:9/secret",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://10.0.0.1/",
            "http://localhost/admin",
        ] {
            let reply: &'static str = Box::leak(
                format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .into_boxed_str(),
            );
            let url = Url::parse(&format!("http://{}/start", serve(reply))).unwrap();
            let req = FetchRequest::new(&url);
            let err = fetcher.fetch(&req).await.unwrap_err();
            assert!(
                matches!(err, FetchError::RedirectRefused(..)),
                "{target}: {err}"
            );
            assert_eq!(err.kind(), "redirect");
            // A source declared internal may redirect anywhere inside
            // (only loopback is ever contacted by this test).
            if target.starts_with("http://127.0.0.1") {
                let req = FetchRequest {
                    internal: true,
                    ..FetchRequest::new(&url)
                };
                let local = fetcher.fetch(&req).await;
                assert!(matches!(local, Err(FetchError::Connect(_))), "{local:?}");
            }
        }
    }

    /// A local server whose connection `n` waits `delay`, then redirects to
    /// `/hop{n}`, up to `redirects` times; then it serves a 2-byte body.
    fn redirecting_server(delay: Duration, redirects: usize) -> std::net::SocketAddr {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for (n, mut s) in listener.incoming().flatten().enumerate() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                std::thread::sleep(delay);
                let reply = if n < redirects {
                    format!("HTTP/1.1 302 Found\r\nLocation: /hop{n}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                        .to_string()
                };
                let _ = s.write_all(reply.as_bytes());
            }
        });
        addr
    }

    /// Fetches `/start` from `addr` with a 1 s timeout, on a loopback host
    /// with `spacing` between requests.
    async fn fetch_within_a_second(
        addr: std::net::SocketAddr,
        spacing: Duration,
    ) -> (Result<Fetched, FetchError>, Duration) {
        let fetcher = loopback(spacing);
        let url = Url::parse(&format!("http://{addr}/start")).unwrap();
        let req = FetchRequest {
            timeout: Duration::from_secs(1),
            ..FetchRequest::new(&url)
        };
        let started = Instant::now();
        let result = fetcher.fetch(&req).await;
        (result, started.elapsed())
    }

    #[tokio::test]
    async fn one_deadline_for_every_hop() {
        // Each hop answers after 400 ms and redirects to the next: with a
        // 1 s budget for the whole fetch, the third hop runs out of time
        // (a timeout restarted per hop would follow all five).
        let addr = redirecting_server(Duration::from_millis(400), 5);
        let (result, took) = fetch_within_a_second(addr, Duration::ZERO).await;
        let err = result.unwrap_err();
        assert!(matches!(err, FetchError::Timeout(_)), "{err}");
        assert!(took < Duration::from_millis(1900), "{took:?}");
    }

    #[tokio::test]
    async fn waiting_for_the_host_is_not_upstream_time() {
        // Three quick redirects, then the feed, on a host with 500 ms of
        // spacing: 1.5 s of waiting for the host's turn, a few ms of
        // upstream time, within a 1 s fetch timeout.
        let addr = redirecting_server(Duration::ZERO, 3);
        let (result, took) = fetch_within_a_second(addr, Duration::from_millis(500)).await;
        assert!(matches!(result, Ok(Fetched::Body { .. })));
        assert!(took >= Duration::from_millis(1400));
    }
}
