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
use std::net::{IpAddr, SocketAddr};
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
/// Hosts (and budget windows) whose politeness state is kept.
///
/// SECURITY: the hosts fetched are not all the operator's: article links
/// (`fulltext`) and redirects name any host a stranger likes, and each one
/// contacted used to stay in memory, on `/status` and as a `/metrics`
/// label for good. Past this many, idle hosts are forgotten (nothing in
/// flight, no Retry-After block, their spacing over: forgetting them
/// changes no behaviour); if that is not enough, the least recently used
/// that have nothing in flight, their blocks and budget windows with them.
pub const MAX_HOSTS: usize = 1024;
/// The longest `Crawl-delay` a site's `robots.txt` is obeyed with; a longer
/// one is read as this (a day-long delay would stop its feed too).
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

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

/// Per-host state.
#[derive(Default)]
struct HostState {
    /// Held for the duration of a request: one in flight per host.
    in_flight: Arc<tokio::sync::Mutex<()>>,
    last_done: Option<Instant>,
    /// The `Crawl-delay` its `robots.txt` asks for (article fetches read
    /// it): spacing at least this long, for every request to the host.
    crawl_delay: Option<Duration>,
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
    /// Requests sent to unlisted hosts since forgotten (so the `other`
    /// count on `/metrics` never goes down).
    forgotten_requests: u64,
}

impl Gate {
    /// Room for one more host under [`MAX_HOSTS`]: listed hosts (the
    /// operator's) are kept; of the others, idle ones are forgotten first,
    /// then (down to three quarters full) the least recently used with
    /// nothing in flight.
    fn make_room_for_host(&mut self, now: Instant, policies: &HashMap<String, HostPolicy>) {
        if self.hosts.len() < MAX_HOSTS {
            return;
        }
        let mut forgotten = 0;
        self.hosts.retain(|host, h| {
            let in_flight = Arc::strong_count(&h.in_flight) > 1;
            let blocked = h.blocked.is_some_and(|(until, _)| until > now);
            let spacing = policies
                .get(host)
                .map_or(DEFAULT_MIN_SPACING, |p| p.min_spacing)
                .max(h.crawl_delay.unwrap_or_default());
            let spacing_left = h.last_done.is_some_and(|t| now.duration_since(t) < spacing);
            let keep = policies.contains_key(host) || in_flight || blocked || spacing_left;
            if !keep {
                forgotten += h.requests;
            }
            keep
        });
        if self.hosts.len() >= MAX_HOSTS {
            let mut idle: Vec<(Option<Instant>, String)> = self
                .hosts
                .iter()
                .filter(|(host, h)| {
                    !policies.contains_key(*host) && Arc::strong_count(&h.in_flight) == 1
                })
                .map(|(host, h)| (h.last_done, host.clone()))
                .collect();
            idle.sort();
            let excess = self.hosts.len() + 1 - MAX_HOSTS * 3 / 4;
            for (_, host) in idle.into_iter().take(excess) {
                if let Some(h) = self.hosts.remove(&host) {
                    forgotten += h.requests;
                }
            }
        }
        self.forgotten_requests += forgotten;
    }

    /// Room for one more budget window under [`MAX_HOSTS`]: ended windows
    /// forgotten first (they start afresh anyway), then the oldest of
    /// unlisted hosts (the sources' hosts and the source kinds' budgets
    /// keep theirs).
    fn make_room_for_window(&mut self, now: Instant, policies: &HashMap<String, HostPolicy>) {
        if self.windows.len() < MAX_HOSTS {
            return;
        }
        self.windows
            .retain(|_, w| now.duration_since(w.start) < w.length);
        if self.windows.len() < MAX_HOSTS {
            return;
        }
        let mut oldest: Vec<(Instant, String)> = self
            .windows
            .iter()
            .filter(|(key, _)| {
                key.strip_prefix("host ")
                    .is_some_and(|host| !policies.contains_key(host))
            })
            .map(|(key, w)| (w.start, key.clone()))
            .collect();
        oldest.sort();
        let excess = self.windows.len() + 1 - MAX_HOSTS * 3 / 4;
        for (_, key) in oldest.into_iter().take(excess) {
            self.windows.remove(&key);
        }
    }
}

/// What the politeness gate knows of one host, for `/status` and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostStatus {
    pub host: String,
    /// A source's host or one with `[[host]]` rules: the operator's, not
    /// one a link or redirect led to.
    pub listed: bool,
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

/// Whether `ip` is in the operator's own network or otherwise not a public
/// internet address: loopback, RFC 1918 and RFC 4193 private ranges,
/// link-local (cloud metadata at 169.254.169.254), CGNAT (100.64/10),
/// unspecified, broadcast, multicast and documentation ranges; IPv4 inside
/// IPv6 (mapped, compatible, NAT64) is judged as IPv4.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            // ::a.b.c.d (deprecated compatible) and 64:ff9b::/96 (NAT64).
            if seg[..6] == [0; 6] || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let v4 = std::net::Ipv4Addr::new(
                    (seg[6] >> 8) as u8,
                    seg[6] as u8,
                    (seg[7] >> 8) as u8,
                    seg[7] as u8,
                );
                return v6.is_loopback() || v6.is_unspecified() || is_internal(IpAddr::V4(v4));
            }
            // 6to4 (2002::/16) carries an IPv4 address in its next 32 bits,
            // which a relay may reach: judged as that address.
            if seg[0] == 0x2002 {
                let v4 = std::net::Ipv4Addr::new(
                    (seg[1] >> 8) as u8,
                    seg[1] as u8,
                    (seg[2] >> 8) as u8,
                    seg[2] as u8,
                );
                return is_internal(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                // Site-local (fec0::/10, deprecated but still routed inside).
                || (seg[0] & 0xffc0) == 0xfec0
                || seg[0] == 0x2001 && seg[1] == 0x0db8
                // Teredo (2001::/32): a tunnel to an address it hides.
                || seg[0] == 0x2001 && seg[1] == 0
                // Local-use NAT64 (64:ff9b:1::/48, RFC 8215): the
                // operator's own translator.
                || seg[..3] == [0x64, 0xff9b, 1]
        }
    }
}

/// What [`PublicOnly`] says of a name with internal addresses only.
const INTERNAL_ONLY: &str = "resolves only to internal addresses";
/// What hyper-util's connector says when the resolver failed
/// (`ConnectError::dns` in `client/legacy/connect/http.rs`); its error type
/// is private, so its message is what tells a name that did not resolve
/// from a connection that failed.
const DNS_FAILED: &str = "dns error";

/// DNS for public sources: internal addresses are dropped from every
/// answer, at the moment of connecting, so a name that resolves publicly
/// when checked and internally when used (DNS rebinding) still cannot
/// reach the operator's network.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_internal(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{host} {INTERNAL_ONLY}, which a public source may not reach (a source in your own network says `internal = true`)"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client for requests feedloom makes on its own: our user agent,
/// the connect timeout, no redirects followed (callers follow them hop by
/// hop, or not at all). With `public_only`, it cannot connect to internal
/// addresses ([`is_internal`]) whatever a name resolves to when it
/// connects; literal IP hosts are the caller's to check.
pub fn outbound_client(public_only: bool) -> Result<reqwest::Client, FetchError> {
    // reqwest is built without a default crypto provider (ring keeps the
    // build lean); installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none());
    if public_only {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder.build().map_err(|e| FetchError::Other(chain(&e)))
}

/// The HTTP client every source shares (one connection pool, one politeness
/// gate).
///
/// SECURITY: every hop is fetched through a client that cannot connect to
/// internal addresses ([`is_internal`]), so no feed, link or redirect can
/// reach `127.0.0.1`, `169.254.169.254` or the LAN, unless the definitions
/// say so: a source declared `internal = true`, or a hop on the origin of
/// a configured URL that names an internal address itself (a local
/// service, the tests' upstream). See [`FetchRequest::internal`].
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

    /// Every host contacted and every budget in use, sorted by name.
    pub fn politeness(&self) -> (Vec<HostStatus>, Vec<BudgetStatus>) {
        let gate = self.gate.lock().expect("fetch gate lock");
        let now = Instant::now();
        let mut hosts: Vec<HostStatus> = gate
            .hosts
            .iter()
            .map(|(host, h)| HostStatus {
                host: host.clone(),
                listed: self.policies.contains_key(host),
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

    /// Hosts whose state is kept now (at most [`MAX_HOSTS`], listed
    /// ones aside), and the requests sent to unlisted hosts since
    /// forgotten.
    pub fn hosts_tracked(&self) -> (usize, u64) {
        let gate = self.gate.lock().expect("fetch gate lock");
        (gate.hosts.len(), gate.forgotten_requests)
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

    /// GETs `req.url`, following redirects, all within `req.timeout`; each
    /// hop guarded unless [`may_reach_inside`] says otherwise.
    pub async fn fetch(&self, req: &FetchRequest<'_>) -> Result<Fetched, FetchError> {
        let mut url = req.url.clone();
        let mut seen = vec![url.clone()];
        let mut moved_to = None;
        // The upstream's time, shared by every hop: each request may take
        // what the earlier ones left. Waiting for the host's turn (its
        // spacing, another source's request in flight) is not the
        // upstream's time and does not count.
        let mut time_left = req.timeout;
        for hop in 0..=MAX_REDIRECTS {
            let guarded = !may_reach_inside(req, &url);
            if guarded {
                refuse_internal_literal(&url)?;
            }
            match self
                .hop(&url, req, hop == 0, guarded, &mut time_left)
                .await?
            {
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
                    if downgrade(&url, &location, req.allow_http_redirect) {
                        return Err(FetchError::RedirectRefused(
                            location,
                            "a downgrade from https to http (set `allow_http_redirect = true` on the source to follow it)",
                        ));
                    }
                    if !matches!(location.scheme(), "http" | "https") {
                        return Err(FetchError::RedirectRefused(location, "not http(s)"));
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
    async fn hop(
        &self,
        url: &Url,
        req: &FetchRequest<'_>,
        first: bool,
        guarded: bool,
        time_left: &mut Duration,
    ) -> Result<Hop, FetchError> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let policy = self.policy(&host);
        let in_flight = self.in_flight(&host);
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
        let started = Instant::now();
        let result = self
            .send(url, req, first, guarded, started + *time_left, &host)
            .await;
        *time_left = time_left.saturating_sub(started.elapsed());
        let mut gate = self.gate.lock().expect("fetch gate lock");
        gate.hosts.entry(host).or_default().last_done = Some(Instant::now());
        result
    }

    /// The lock that keeps one request in flight per host.
    fn in_flight(&self, host: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut gate = self.gate.lock().expect("fetch gate lock");
        if !gate.hosts.contains_key(host) {
            gate.make_room_for_host(Instant::now(), &self.policies);
        }
        gate.hosts
            .entry(host.to_string())
            .or_default()
            .in_flight
            .clone()
    }

    /// Waits until `host` could take a request: none in flight, its
    /// spacing since the last one over. Reserves nothing (the request's
    /// own admission does), so callers wait here before taking scarcer
    /// resources such as a poll slot, and a slot is never held by a poll
    /// that only waits for its host.
    pub async fn wait_turn(&self, host: &str) {
        let host = host.to_ascii_lowercase();
        let spacing = self.policy(&host).min_spacing;
        drop(self.in_flight(&host).lock().await);
        let wait = {
            let gate = self.gate.lock().expect("fetch gate lock");
            gate.hosts
                .get(&host)
                .and_then(|h| {
                    let spacing = spacing.max(h.crawl_delay.unwrap_or_default());
                    Some((h.last_done?, spacing))
                })
                .map(|(t, spacing)| (t + spacing).saturating_duration_since(Instant::now()))
                .unwrap_or_default()
        };
        tokio::time::sleep(wait).await;
    }

    /// Obeys the `Crawl-delay` `host`'s `robots.txt` asks for (capped at
    /// [`MAX_CRAWL_DELAY`]) from now on, for every request to it.
    pub fn set_crawl_delay(&self, host: &str, delay: Duration) {
        let host = host.to_ascii_lowercase();
        let mut gate = self.gate.lock().expect("fetch gate lock");
        if !gate.hosts.contains_key(&host) {
            gate.make_room_for_host(Instant::now(), &self.policies);
        }
        gate.hosts.entry(host).or_default().crawl_delay = Some(delay.min(MAX_CRAWL_DELAY));
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
                let spacing = spacing.max(state.crawl_delay.unwrap_or_default());
                let spacing_wait = state
                    .last_done
                    .map(|t| (t + spacing).saturating_duration_since(now))
                    .unwrap_or_default();
                let mut wait = spacing_wait;
                for b in budgets {
                    if !gate.windows.contains_key(&b.key) {
                        gate.make_room_for_window(now, &self.policies);
                    }
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
        Ok(Hop::Done(Box::new(Fetched::Body { bytes, meta })))
    }
}

/// Whether `url` names an internal address itself: an internal IP literal,
/// `localhost` or a name under `.localhost`. Read from the text, never
/// from DNS.
pub fn names_inside(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

/// Whether one hop of `req` to `url` may connect to an internal address:
/// the source is declared `internal`, or the operator's configured URL
/// names an internal address and `url` is on its origin (a redirect or a
/// link to another port or host of the operator's network is a
/// stranger's choice, and guarded).
fn may_reach_inside(req: &FetchRequest<'_>, url: &Url) -> bool {
    let configured = req.linked_from.unwrap_or(req.url);
    req.internal || (names_inside(configured) && url.origin() == configured.origin())
}

/// Whether a redirect from `from` to `to` is a refused `https` → `http`
/// downgrade (a network attacker could then read and rewrite the feed).
fn downgrade(from: &Url, to: &Url, allowed: bool) -> bool {
    from.scheme() == "https" && to.scheme() == "http" && !allowed
}

/// A public source's hop to an internal address written as a literal (DNS
/// is not asked for those, so the resolver cannot filter them).
fn refuse_internal_literal(url: &Url) -> Result<(), FetchError> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                return Err(FetchError::RedirectRefused(
                    url.clone(),
                    "into the operator's own network, outside the origin the definitions name",
                ));
            }
            return Ok(());
        }
        None => return Ok(()),
    };
    if is_internal(ip) {
        return Err(FetchError::RedirectRefused(
            url.clone(),
            "into the operator's own network, outside the origin the definitions name",
        ));
    }
    Ok(())
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
        if let Some(at) = crate::dates::parse_http_date(v) {
            return Some((at - now).to_std().unwrap_or_default());
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
    let expires = crate::dates::parse_http_date(&header(headers, EXPIRES)?)?;
    let date = header(headers, DATE)
        .and_then(|d| crate::dates::parse_http_date(&d))
        .unwrap_or(now);
    Some((expires - date).to_std().unwrap_or_default())
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
        let message = chain(&e);
        // Our own resolver's refusal (see [`PublicOnly`]): not a network
        // fault to retry.
        if message.contains(INTERNAL_ONLY) {
            FetchError::Internal(message)
        } else if message.contains(DNS_FAILED) {
            FetchError::Dns(message)
        } else {
            FetchError::Connect(message)
        }
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

    // SECURITY: a public source's redirect into the operator's network.
    // A source on 127.0.0.1 is the operator's own, but only on its origin:
    // a redirect anywhere else inside is a stranger's choice.
    #[tokio::test]
    async fn redirects_inside_are_refused_unless_declared_internal() {
        let fetcher = Fetcher::new(HashMap::from([(
            "127.0.0.1".to_string(),
            HostPolicy {
                min_spacing: Duration::ZERO,
                ..HostPolicy::default()
            },
        )]))
        .unwrap();
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
        // DNS answers for public sources lose internal addresses.
        let err = reqwest::dns::Resolve::resolve(&PublicOnly, "localhost".parse().unwrap())
            .await
            .err()
            .expect("localhost is internal");
        assert!(err.to_string().contains("internal addresses"), "{err}");
        // Locality is read from the configured URL's text, never from DNS.
        for (url, inside) in [
            ("http://127.0.0.1:8080/feed", true),
            ("http://[::1]/", true),
            ("http://LOCALHOST./x", true),
            ("http://a.localhost/", true),
            ("http://10.1.2.3/", true),
            ("http://localhost.example.org/", false),
            ("http://vm/", false),
            ("https://example.org/", false),
        ] {
            assert_eq!(names_inside(&Url::parse(url).unwrap()), inside, "{url}");
        }
    }

    #[test]
    fn downgrades_are_refused_unless_allowed() {
        // A downgrade needs an `https` first hop, and there is no TLS
        // server here: the redirect decision itself is checked.
        let from = Url::parse("https://example.org/feed").unwrap();
        let to = Url::parse("http://example.org/feed").unwrap();
        assert!(downgrade(&from, &to, false));
        assert!(!downgrade(&from, &to, true));
        assert!(!downgrade(&to, &from, false));
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
        let policy = HostPolicy {
            min_spacing: spacing,
            ..HostPolicy::default()
        };
        let fetcher = Fetcher::new(HashMap::from([("127.0.0.1".to_string(), policy)])).unwrap();
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

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::ffff:10.0.0.1",
            // Site-local, 6to4 of 127.0.0.1 and of 10.0.0.1, local-use
            // NAT64, Teredo.
            "fec0::1",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "64:ff9b:1::a9fe:a9fe",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "1.1.1.1",
            "140.82.112.3",
            "2606:4700::1111",
            "100.128.0.1",
            // 6to4 of a public address; an ordinary 2001: address.
            "2002:808:808::1",
            "2001:4860:4860::8888",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
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
