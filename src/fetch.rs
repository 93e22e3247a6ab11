//! Fetching a source over HTTP, politely: one shared client, conditional
//! GET, hard limits on time, redirects and body size, and per-host rules.
//!
//! Per host (all sources on it together):
//! - at most one request in flight, and at least the host's minimum spacing
//!   between the end of one request and the start of the next;
//! - a request budget per window (and any extra budget a source kind adds,
//!   such as Hugging Face's API and page buckets);
//! - a `429` or `503` that names a delay (`Retry-After`, `RateLimit`) stops
//!   every request to the host until it has passed; no request is sent.
//!
//! Redirects are followed here, hop by hop (each hop obeys the rules of its
//! host), up to [`MAX_REDIRECTS`]; a loop is an error, and a permanent
//! redirect (301, 308) is reported so the admin can update the URL.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{
    HeaderMap, CACHE_CONTROL, CONTENT_TYPE, DATE, ETAG, EXPIRES, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, LOCATION, RETRY_AFTER,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use url::Url;

/// Sent with every request, so upstream admins can see who polls them and
/// where to complain.
pub const USER_AGENT: &str = concat!(
    "feedloom/",
    env!("CARGO_PKG_VERSION"),
    " (feed aggregator; +https://github.com/feedloom/feedloom)"
);
/// Largest body read unless a source sets `max_body`; the rest of a larger
/// response is never downloaded.
pub const DEFAULT_MAX_BODY: usize = 10 * 1024 * 1024;
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole request, body included, unless a source sets `timeout`: a slow
/// drip cannot hold a poll forever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_REDIRECTS: usize = 5;
/// How long a host is left alone after a 429 that named no delay.
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);
/// The longest pause an upstream's `Retry-After` can impose.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Waiting for a request budget to free up is fine for this long; beyond
/// it the poll fails and the next one tries again.
pub const MAX_BUDGET_WAIT: Duration = Duration::from_secs(10);
/// Host rules unless `[[host]]` says otherwise.
pub const DEFAULT_MIN_SPACING: Duration = Duration::from_secs(1);
pub const DEFAULT_HOST_BUDGET: u32 = 120;
pub const DEFAULT_HOST_WINDOW: Duration = Duration::from_secs(300);

/// A request budget: at most `max_requests` per `window` for requests that
/// share `key` (e.g. `huggingface.co api`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub key: String,
    pub max_requests: u32,
    pub window: Duration,
}

/// The rules for one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPolicy {
    pub min_spacing: Duration,
    pub max_requests: u32,
    pub window: Duration,
}

impl Default for HostPolicy {
    fn default() -> Self {
        HostPolicy {
            min_spacing: DEFAULT_MIN_SPACING,
            max_requests: DEFAULT_HOST_BUDGET,
            window: DEFAULT_HOST_WINDOW,
        }
    }
}

/// A source's stored HTTP validators, for conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// One fetch.
#[derive(Debug, Clone)]
pub struct FetchRequest<'a> {
    pub url: &'a Url,
    pub validators: Option<&'a Validators>,
    /// An extra budget this request counts against, besides its host's.
    pub budget: Option<&'a Budget>,
    pub timeout: Duration,
    pub max_body: usize,
}

impl<'a> FetchRequest<'a> {
    pub fn new(url: &'a Url) -> Self {
        FetchRequest {
            url,
            validators: None,
            budget: None,
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// What came back, besides the body.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub status: u16,
    /// Where the body came from after redirects (relative links resolve
    /// against it).
    pub final_url: Option<Url>,
    pub content_type: Option<String>,
    pub validators: Validators,
    /// How long the upstream says its answer stays fresh (`Cache-Control:
    /// max-age`, `Expires`): a floor on the next poll.
    pub fresh_for: Option<Duration>,
    /// The target of a permanent redirect (301 / 308) on the way.
    pub moved_to: Option<Url>,
}

/// A successful fetch.
#[derive(Debug)]
pub enum Fetched {
    /// 304: nothing changed since the validators were stored.
    NotModified(Meta),
    Body {
        bytes: Vec<u8>,
        meta: Meta,
    },
}

/// Why a fetch failed. Messages name no URL: the poller adds the source id
/// and URL around them.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("too many redirects (more than {MAX_REDIRECTS})")]
    Redirects,
    #[error("redirect loop back to {0}")]
    RedirectLoop(Url),
    #[error("HTTP {status}{}", retry_after.as_ref().map(|r| format!(" (Retry-After: {r})")).unwrap_or_default())]
    Status {
        status: u16,
        retry_after: Option<String>,
    },
    #[error("body larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The connection failed while the body was arriving.
    #[error("body cut off: {0}")]
    Body(String),
    /// The host asked us to wait (429 / 503 with `Retry-After` or
    /// `RateLimit`); no request was sent.
    #[error("rate limited by the upstream host; no request before {until}")]
    RateLimited { until: DateTime<Utc> },
    /// Our own politeness budget is spent; no request was sent.
    #[error("request budget `{key}` ({max} per {window:?}) is used up; next request possible in {retry_in:?}")]
    Budget {
        key: String,
        max: u32,
        window: Duration,
        retry_in: Duration,
    },
    #[error("{0}")]
    Other(String),
}

impl FetchError {
    /// A short machine-readable kind for `/status` and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Timeout(_) => "timeout",
            FetchError::Connect(_) => "connect",
            FetchError::Redirects | FetchError::RedirectLoop(_) => "redirect",
            FetchError::Status { .. } => "http_status",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::Body(_) => "body",
            FetchError::RateLimited { .. } => "rate_limited",
            FetchError::Budget { .. } => "budget",
            FetchError::Other(_) => "fetch",
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// When the host may be asked again, if it said so.
    pub fn blocked_until(&self) -> Option<DateTime<Utc>> {
        match self {
            FetchError::RateLimited { until } => Some(*until),
            _ => None,
        }
    }
}

/// Per-host state.
#[derive(Default)]
struct HostState {
    /// Held for the duration of a request: one in flight per host.
    in_flight: Arc<tokio::sync::Mutex<()>>,
    last_done: Option<Instant>,
    blocked: Option<(Instant, DateTime<Utc>)>,
    /// Requests sent to the host since start.
    requests: u64,
}

/// One budget's current window.
struct Window {
    start: Instant,
    used: u32,
    /// The budget's limits as last applied, for [`Fetcher::politeness`].
    max_requests: u32,
    length: Duration,
}

#[derive(Default)]
struct Gate {
    hosts: HashMap<String, HostState>,
    /// Budget key → its current window.
    windows: HashMap<String, Window>,
}

/// What the politeness gate knows of one host, for `/status` and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostStatus {
    pub host: String,
    /// Requests sent since start.
    pub requests: u64,
    /// Set while the host asked us (429/503) to wait.
    pub blocked_until: Option<DateTime<Utc>>,
}

/// One request budget's current window, for `/status` and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetStatus {
    /// `host example.org`, or a source kind's own budget such as
    /// `huggingface.co api`.
    pub key: String,
    pub used: u32,
    pub max_requests: u32,
    pub window_seconds: u64,
}

/// The HTTP client every source shares (one connection pool, one politeness
/// gate).
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
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
        // reqwest is built without a default crypto provider (ring keeps the
        // build lean); installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            // Redirects are followed hop by hop in `fetch`.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FetchError::Other(chain(&e)))?;
        Ok(Fetcher {
            client,
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
            policies: Arc::new(policies),
            gate: self.gate.clone(),
        }
    }

    /// Every host contacted and every budget in use, sorted by name.
    pub fn politeness(&self) -> (Vec<HostStatus>, Vec<BudgetStatus>) {
        let gate = self.gate.lock().expect("fetch gate lock");
        let now = Instant::now();
        let mut hosts: Vec<HostStatus> = gate
            .hosts
            .iter()
            .map(|(host, h)| HostStatus {
                host: host.clone(),
                requests: h.requests,
                blocked_until: h
                    .blocked
                    .filter(|(until, _)| *until > now)
                    .map(|(_, wall)| wall),
            })
            .collect();
        hosts.sort_by(|a, b| a.host.cmp(&b.host));
        let mut budgets: Vec<BudgetStatus> = gate
            .windows
            .iter()
            .map(|(key, w)| BudgetStatus {
                key: key.clone(),
                used: if now.duration_since(w.start) >= w.length {
                    0
                } else {
                    w.used
                },
                max_requests: w.max_requests,
                window_seconds: w.length.as_secs(),
            })
            .collect();
        budgets.sort_by(|a, b| a.key.cmp(&b.key));
        (hosts, budgets)
    }

    fn policy(&self, host: &str) -> HostPolicy {
        self.policies.get(host).cloned().unwrap_or_default()
    }

    /// When `host` asked not to be contacted before, if it did.
    pub fn blocked_until(&self, host: &str) -> Option<DateTime<Utc>> {
        let gate = self.gate.lock().expect("fetch gate lock");
        gate.hosts
            .get(host)
            .and_then(|h| h.blocked)
            .filter(|(until, _)| *until > Instant::now())
            .map(|(_, wall)| wall)
    }

    /// GETs `req.url`, following redirects.
    pub async fn fetch(&self, req: &FetchRequest<'_>) -> Result<Fetched, FetchError> {
        let mut url = req.url.clone();
        let mut seen = vec![url.clone()];
        let mut moved_to = None;
        for hop in 0..=MAX_REDIRECTS {
            match self.hop(&url, req, hop == 0).await? {
                Hop::Done(fetched) => {
                    let mut fetched = *fetched;
                    let meta = match &mut fetched {
                        Fetched::NotModified(m) | Fetched::Body { meta: m, .. } => m,
                    };
                    meta.moved_to = moved_to;
                    meta.final_url = Some(url);
                    return Ok(fetched);
                }
                Hop::Redirect { status, location } => {
                    if seen.contains(&location) {
                        return Err(FetchError::RedirectLoop(location));
                    }
                    // Only a chain of permanent redirects moves the source.
                    if matches!(status, 301 | 308) && (hop == 0 || moved_to.is_some()) {
                        moved_to = Some(location.clone());
                    } else {
                        moved_to = None;
                    }
                    seen.push(location.clone());
                    url = location;
                }
            }
        }
        Err(FetchError::Redirects)
    }

    /// One request under its host's rules.
    async fn hop(&self, url: &Url, req: &FetchRequest<'_>, first: bool) -> Result<Hop, FetchError> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let policy = self.policy(&host);
        let in_flight = {
            let mut gate = self.gate.lock().expect("fetch gate lock");
            gate.hosts
                .entry(host.clone())
                .or_default()
                .in_flight
                .clone()
        };
        let _one_at_a_time = in_flight.lock().await;
        let host_budget = Budget {
            key: format!("host {host}"),
            max_requests: policy.max_requests,
            window: policy.window,
        };
        self.admit(
            &host,
            &[Some(&host_budget), req.budget]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>(),
            policy.min_spacing,
        )
        .await?;
        let result = self.send(url, req, first, &host).await;
        let mut gate = self.gate.lock().expect("fetch gate lock");
        gate.hosts.entry(host).or_default().last_done = Some(Instant::now());
        result
    }

    /// Waits out the host's spacing and checks its back-off and budgets.
    async fn admit(
        &self,
        host: &str,
        budgets: &[&Budget],
        spacing: Duration,
    ) -> Result<(), FetchError> {
        loop {
            let wait = {
                let mut gate = self.gate.lock().expect("fetch gate lock");
                let now = Instant::now();
                let state = gate.hosts.entry(host.to_string()).or_default();
                if let Some((until, wall)) = state.blocked {
                    if until > now {
                        return Err(FetchError::RateLimited { until: wall });
                    }
                    state.blocked = None;
                }
                let spacing_wait = state
                    .last_done
                    .map(|t| (t + spacing).saturating_duration_since(now))
                    .unwrap_or_default();
                let mut wait = spacing_wait;
                for b in budgets {
                    let w = gate.windows.entry(b.key.clone()).or_insert(Window {
                        start: now,
                        used: 0,
                        max_requests: b.max_requests,
                        length: b.window,
                    });
                    w.max_requests = b.max_requests;
                    w.length = b.window;
                    if now.duration_since(w.start) >= b.window {
                        w.start = now;
                        w.used = 0;
                    }
                    if w.used >= b.max_requests {
                        let retry_in = b.window.saturating_sub(now.duration_since(w.start));
                        if retry_in > MAX_BUDGET_WAIT {
                            return Err(FetchError::Budget {
                                key: b.key.clone(),
                                max: b.max_requests,
                                window: b.window,
                                retry_in,
                            });
                        }
                        wait = wait.max(retry_in);
                    }
                }
                if wait.is_zero() {
                    for b in budgets {
                        if let Some(w) = gate.windows.get_mut(&b.key) {
                            w.used += 1;
                        }
                    }
                    if let Some(h) = gate.hosts.get_mut(host) {
                        h.requests += 1;
                    }
                    return Ok(());
                }
                wait
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Restores a host's back-off remembered from an earlier run.
    pub fn block_until(&self, host: &str, until: DateTime<Utc>) {
        if let Ok(left) = (until - Utc::now()).to_std() {
            let mut gate = self.gate.lock().expect("fetch gate lock");
            gate.hosts.entry(host.to_string()).or_default().blocked =
                Some((Instant::now() + left, until));
        }
    }

    /// Remembers that `host` asked us to wait.
    fn block(&self, host: &str, delay: Duration) {
        let delay = delay.clamp(Duration::from_secs(1), MAX_BACKOFF);
        let wall = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        let mut gate = self.gate.lock().expect("fetch gate lock");
        gate.hosts.entry(host.to_string()).or_default().blocked =
            Some((Instant::now() + delay, wall));
    }

    async fn send(
        &self,
        url: &Url,
        req: &FetchRequest<'_>,
        first: bool,
        host: &str,
    ) -> Result<Hop, FetchError> {
        let mut builder = self.client.get(url.clone()).timeout(req.timeout);
        if let (true, Some(v)) = (first, req.validators) {
            if let Some(etag) = &v.etag {
                builder = builder.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &v.last_modified {
                builder = builder.header(IF_MODIFIED_SINCE, lm);
            }
        }
        let started = Instant::now();
        let mut resp = builder.send().await.map_err(|e| classify(e, req.timeout))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            if let Some(location) = header(&headers, LOCATION) {
                let location = url.join(&location).map_err(|e| {
                    FetchError::Other(format!("bad redirect Location `{location}`: {e}"))
                })?;
                return Ok(Hop::Redirect {
                    status: status.as_u16(),
                    location,
                });
            }
        }
        let meta = Meta {
            status: status.as_u16(),
            final_url: None,
            content_type: header(&headers, CONTENT_TYPE),
            validators: Validators {
                etag: header(&headers, ETAG),
                last_modified: header(&headers, LAST_MODIFIED),
            },
            fresh_for: freshness(&headers, Utc::now()),
            moved_to: None,
        };
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Hop::Done(Box::new(Fetched::NotModified(meta))));
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            let delay = retry_delay(&headers, Utc::now());
            // A 503 without a delay is an outage, not a request to slow down.
            if let Some(d) =
                delay.or((status == StatusCode::TOO_MANY_REQUESTS).then_some(DEFAULT_BACKOFF))
            {
                self.block(host, d);
            }
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after: header(&headers, RETRY_AFTER),
            });
        }
        let limit = req.max_body;
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(FetchError::TooLarge { limit });
        }
        // Stream with the cap enforced as bytes arrive: a lying or absent
        // Content-Length cannot make us buffer more than `limit`.
        let mut bytes = Vec::new();
        loop {
            let left = req.timeout.saturating_sub(started.elapsed());
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
        Ok(Hop::Done(Box::new(Fetched::Body { bytes, meta })))
    }
}

/// How long the upstream asks us to wait: `Retry-After` in seconds or as an
/// HTTP-date (RFC 9110 §10.2.3), else the reset time `t=` of the IETF
/// `RateLimit` header (Hugging Face sends `"api";r=0;t=55`), else the older
/// `RateLimit-Reset` / `X-RateLimit-Reset` seconds.
pub fn retry_delay(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(v) = header(headers, RETRY_AFTER) {
        let v = v.trim();
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = DateTime::parse_from_rfc2822(v) {
            return Some((at.with_timezone(&Utc) - now).to_std().unwrap_or_default());
        }
    }
    if let Some(v) = headers.get("ratelimit").and_then(|v| v.to_str().ok()) {
        let t = v
            .split([';', ','])
            .map(str::trim)
            .find_map(|p| p.strip_prefix("t="));
        if let Some(secs) = t.and_then(|t| t.trim().parse::<u64>().ok()) {
            return Some(Duration::from_secs(secs));
        }
    }
    ["ratelimit-reset", "x-ratelimit-reset"]
        .iter()
        .filter_map(|h| headers.get(*h)?.to_str().ok()?.trim().parse::<u64>().ok())
        // Some APIs send an epoch time here, not seconds.
        .find(|&n| n < 86_400)
        .map(Duration::from_secs)
}

/// How long a response stays fresh (RFC 9111 §4.2.1): `Cache-Control:
/// max-age`, else `Expires` minus `Date` (or now); `no-cache` / `no-store`
/// mean zero.
pub fn freshness(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(cc) = header(headers, CACHE_CONTROL) {
        let cc = cc.to_ascii_lowercase();
        if cc.contains("no-cache") || cc.contains("no-store") {
            return Some(Duration::ZERO);
        }
        for directive in cc.split(',').map(str::trim) {
            if let Some(v) = directive.strip_prefix("max-age=") {
                if let Ok(secs) = v.trim_matches('"').parse::<u64>() {
                    return Some(Duration::from_secs(secs));
                }
            }
        }
    }
    let expires = DateTime::parse_from_rfc2822(&header(headers, EXPIRES)?).ok()?;
    let date = header(headers, DATE)
        .and_then(|d| DateTime::parse_from_rfc2822(&d).ok())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(now);
    Some(
        (expires.with_timezone(&Utc) - date)
            .to_std()
            .unwrap_or_default(),
    )
}

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn classify(e: reqwest::Error, timeout: Duration) -> FetchError {
    // The poller names the URL already.
    let e = e.without_url();
    if e.is_timeout() {
        FetchError::Timeout(timeout)
    } else if e.is_connect() {
        FetchError::Connect(chain(&e))
    } else {
        FetchError::Other(chain(&e))
    }
}

/// The error and its causes on one line: reqwest's top-level message alone
/// ("error sending request") says nothing useful.
fn chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let msg = c.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_delays() {
        let now: DateTime<Utc> = "2026-11-27T12:00:00Z".parse().unwrap();
        let d = |pairs: &[(&'static str, &str)]| retry_delay(&headers(pairs), now);
        assert_eq!(d(&[("retry-after", "120")]), Some(Duration::from_secs(120)));
        assert_eq!(
            d(&[("retry-after", "Fri, 27 Nov 2026 12:05:00 GMT")]),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            d(&[("ratelimit", "\"api\";r=0;t=55")]),
            Some(Duration::from_secs(55))
        );
        assert_eq!(
            d(&[("ratelimit-reset", "30")]),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            d(&[("x-ratelimit-reset", "1795000000")]),
            None,
            "an epoch is not a delay"
        );
        assert_eq!(d(&[]), None);
    }

    #[test]
    fn freshness_from_cache_headers() {
        let now: DateTime<Utc> = "2026-11-27T12:00:00Z".parse().unwrap();
        let f = |pairs: &[(&'static str, &str)]| freshness(&headers(pairs), now);
        assert_eq!(
            f(&[("cache-control", "public, max-age=600")]),
            Some(Duration::from_secs(600))
        );
        assert_eq!(f(&[("cache-control", "no-cache")]), Some(Duration::ZERO));
        assert_eq!(
            f(&[
                ("expires", "Fri, 27 Nov 2026 13:00:00 GMT"),
                ("date", "Fri, 27 Nov 2026 12:30:00 GMT")
            ]),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(
            f(&[("expires", "Fri, 27 Nov 2026 12:10:00 GMT")]),
            Some(Duration::from_secs(600))
        );
        assert_eq!(f(&[("expires", "0")]), None);
        assert_eq!(f(&[]), None);
    }
}
