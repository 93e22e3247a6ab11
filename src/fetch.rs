//! Fetching a source over HTTP: one shared client, conditional GET, hard
//! limits on time, redirects and body size.

use std::error::Error as _;
use std::time::Duration;

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

/// The HTTP client every source shares (one connection pool).
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body: usize,
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
        Ok(Fetcher { client, max_body })
    }

    /// GETs `url`, sending `validators` for a conditional request.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: Option<&Validators>,
    ) -> Result<Fetched, FetchError> {
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
