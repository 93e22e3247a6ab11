//! Fetching a source over HTTP: one shared client, conditional GET, hard
//! limits on time, redirects and body size.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use reqwest::header::{
    HeaderMap, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
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
/// Largest body read; the rest of a larger response is never downloaded.
pub const DEFAULT_MAX_BODY: usize = 10 * 1024 * 1024;
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole request, body included: a slow drip cannot hold a poll forever.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_REDIRECTS: usize = 5;
/// How long a host is left alone after a 429 / 503 that named no delay.
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);
/// The longest pause an upstream's `Retry-After` can impose.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Waiting for a request budget to free up is fine for this long; beyond
/// it the poll fails and the next one tries again.
pub const MAX_BUDGET_WAIT: Duration = Duration::from_secs(10);

/// A request budget: at most `max_requests` per `window` for requests that
/// share `key` (e.g. `huggingface.co api`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub key: String,
    pub max_requests: u32,
    pub window: Duration,
}

/// A source's stored HTTP validators, for conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A successful fetch.
#[derive(Debug)]
pub enum Fetched {
    /// 304: nothing changed since the validators were stored.
    NotModified,
    Body {
        status: u16,
        bytes: Vec<u8>,
        /// Where the body came from after redirects (relative links
        /// resolve against it).
        final_url: Url,
        validators: Validators,
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
    #[error("HTTP {status}{}", retry_after.as_ref().map(|r| format!(" (Retry-After: {r})")).unwrap_or_default())]
    Status {
        status: u16,
        retry_after: Option<String>,
    },
    #[error("body larger than {limit} bytes")]
    TooLarge { limit: usize },
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
            FetchError::Redirects => "redirect",
            FetchError::Status { .. } => "http_status",
            FetchError::TooLarge { .. } => "too_large",
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
}

/// Politeness state shared by every source: hosts that asked us to back
/// off, and request counts per budget window.
#[derive(Default)]
struct Gate {
    blocked: HashMap<String, (Instant, DateTime<Utc>)>,
    windows: HashMap<String, (Instant, u32)>,
}

/// The HTTP client every source shares (one connection pool, one politeness
/// gate).
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body: usize,
    gate: Arc<Mutex<Gate>>,
}

impl Fetcher {
    pub fn new(max_body: usize) -> Result<Fetcher, FetchError> {
        // reqwest is built without a default crypto provider (ring keeps the
        // build lean); installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .build()
            .map_err(|e| FetchError::Other(chain(&e)))?;
        Ok(Fetcher {
            client,
            max_body,
            gate: Arc::default(),
        })
    }

    /// Checks the host's back-off and the budget before a request; waits
    /// briefly when the budget frees up soon.
    async fn admit(&self, host: &str, budget: Option<&Budget>) -> Result<(), FetchError> {
        loop {
            let wait = {
                let mut gate = self.gate.lock().expect("fetch gate lock");
                let now = Instant::now();
                if let Some((until, wall)) = gate.blocked.get(host) {
                    if *until > now {
                        return Err(FetchError::RateLimited { until: *wall });
                    }
                    gate.blocked.remove(host);
                }
                let Some(b) = budget else { return Ok(()) };
                let (start, used) = gate.windows.entry(b.key.clone()).or_insert((now, 0));
                if now.duration_since(*start) >= b.window {
                    *start = now;
                    *used = 0;
                }
                if *used < b.max_requests {
                    *used += 1;
                    return Ok(());
                }
                let retry_in = b.window.saturating_sub(now.duration_since(*start));
                if retry_in > MAX_BUDGET_WAIT {
                    return Err(FetchError::Budget {
                        key: b.key.clone(),
                        max: b.max_requests,
                        window: b.window,
                        retry_in,
                    });
                }
                retry_in
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Remembers that `host` asked us to wait.
    fn block(&self, host: &str, delay: Duration) {
        let delay = delay.clamp(Duration::from_secs(1), MAX_BACKOFF);
        let wall = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        let mut gate = self.gate.lock().expect("fetch gate lock");
        gate.blocked
            .insert(host.to_string(), (Instant::now() + delay, wall));
    }

    /// GETs `url`, sending `validators` for a conditional request. The
    /// request counts against `budget`; a host that answered 429 / 503 with
    /// a delay gets no request from any source until the delay is over.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        budget: Option<&Budget>,
    ) -> Result<Fetched, FetchError> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        self.admit(&host, budget).await?;
        let mut req = self.client.get(url.clone());
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                req = req.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &v.last_modified {
                req = req.header(IF_MODIFIED_SINCE, lm);
            }
        }
        let mut resp = req.send().await.map_err(classify)?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            let delay = retry_delay(resp.headers(), Utc::now());
            // A 503 without a delay is an outage, not a request to slow down.
            if let Some(d) =
                delay.or((status == StatusCode::TOO_MANY_REQUESTS).then_some(DEFAULT_BACKOFF))
            {
                self.block(&host, d);
            }
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after: header(resp.headers(), RETRY_AFTER),
            });
        }
        let limit = self.max_body;
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(FetchError::TooLarge { limit });
        }
        let final_url = resp.url().clone();
        let validators = Validators {
            etag: header(resp.headers(), ETAG),
            last_modified: header(resp.headers(), LAST_MODIFIED),
        };
        // Stream with the cap enforced as bytes arrive: a lying or absent
        // Content-Length cannot make us buffer more than `limit`.
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if bytes.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge { limit });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body {
            status: status.as_u16(),
            bytes,
            final_url,
            validators,
        })
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

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn classify(e: reqwest::Error) -> FetchError {
    // The poller names the URL already.
    let e = e.without_url();
    if e.is_timeout() {
        FetchError::Timeout(TOTAL_TIMEOUT)
    } else if e.is_redirect() {
        FetchError::Redirects
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
}
