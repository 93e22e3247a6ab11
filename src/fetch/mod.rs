//! Fetching a source over HTTP, politely: one shared client, conditional
//! GET, hard limits on time, redirects and body size, and per-host rules.
//!
//! One job a file:
//! - `fetcher.rs`: [`Fetcher::fetch`], one fetch start to end (every hop
//!   and the body within one deadline, the body capped as it arrives);
//! - `gate.rs`: the politeness gate, a pure decision per request (admit,
//!   wait until, refuse) over the host table: per-host spacing, `Retry-After`
//!   pauses, request budgets, at most [`MAX_HOSTS`] hosts kept;
//! - `policy.rs`: the rules the gate enforces (`[[host]]` rules, budgets,
//!   defaults and bounds) and what it reports;
//! - `guard.rs`: the address guard, which hops may reach the operator's own
//!   network ([`is_internal`], [`names_inside`], the public-only resolver);
//! - `headers.rs`: what a response's headers say (`Retry-After`,
//!   `RateLimit`, `Cache-Control`, validators, content type);
//! - `redirect.rs`: following redirects hop by hop, loops, downgrades, and
//!   where a source moved for good;
//! - `client.rs`: the reqwest clients and their errors.
//!
//! This file holds what a fetch is asked and what it answers.
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

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

mod client;
mod fetcher;
mod gate;
mod guard;
mod headers;
mod policy;
mod redirect;

pub use client::{outbound_client, CONNECT_TIMEOUT, USER_AGENT};
pub use fetcher::Fetcher;
pub use guard::{is_internal, names_inside};
pub use headers::{freshness, retry_delay};
pub use policy::{
    Budget, BudgetStatus, HostPolicy, HostStatus, DEFAULT_BACKOFF, DEFAULT_HOST_BUDGET,
    DEFAULT_HOST_WINDOW, DEFAULT_MIN_SPACING, MAX_BACKOFF, MAX_BUDGET_WAIT, MAX_CRAWL_DELAY,
    MAX_HOSTS,
};
pub use redirect::MAX_REDIRECTS;

/// Largest body read unless a source sets `max_body`; the rest of a larger
/// response is never downloaded.
pub const DEFAULT_MAX_BODY: usize = 10 * 1024 * 1024;
/// The whole request, body included, unless a source sets `timeout`: a slow
/// drip cannot hold a poll forever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The whole fetch, every redirect hop and body included.
    pub timeout: Duration,
    pub max_body: usize,
    /// Follow an `https` → `http` redirect (refused by default).
    pub allow_http_redirect: bool,
    /// The configured URL `url` was found through (a source whose feed
    /// linked to it), when it was not configured itself.
    ///
    /// SECURITY: such a URL is a stranger's: it may reach an internal
    /// address only on the configured URL's own origin (see
    /// [`FetchRequest::internal`]).
    pub linked_from: Option<&'a Url>,
    /// The source is declared `internal = true`: it, its redirects and the
    /// links in its items may reach internal addresses anywhere.
    ///
    /// SECURITY: otherwise a fetch may reach an internal address only when
    /// the operator named it in the definitions (an internal IP literal or
    /// `localhost` as the configured URL's host), and only on that origin;
    /// every other hop, link and redirect is guarded. DNS never decides it:
    /// a public feed whose owner points its name at `127.0.0.1` stays
    /// public.
    pub internal: bool,
}

impl<'a> FetchRequest<'a> {
    pub fn new(url: &'a Url) -> Self {
        FetchRequest {
            url,
            validators: None,
            budget: None,
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
            allow_http_redirect: false,
            linked_from: None,
            internal: false,
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
    /// The host's name did not resolve: no such name, or no DNS at all
    /// (a machine offline fails every source this way).
    #[error("DNS lookup failed: {0}")]
    Dns(String),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("too many redirects (more than {MAX_REDIRECTS})")]
    Redirects,
    #[error("redirect loop back to {0}")]
    RedirectLoop(Url),
    /// A redirect feedloom does not follow: into the operator's own network
    /// from a public source, or from `https` down to `http`.
    #[error("redirect to {0} refused: {1}")]
    RedirectRefused(Url, &'static str),
    /// A public source's host resolved only to internal addresses.
    #[error("{0}")]
    Internal(String),
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
            FetchError::Dns(_) => "dns",
            FetchError::Connect(_) => "connect",
            FetchError::Redirects
            | FetchError::RedirectLoop(_)
            | FetchError::RedirectRefused(..) => "redirect",
            FetchError::Internal(_) => "internal_address",
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
