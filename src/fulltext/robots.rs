//! `robots.txt` for article fetches: fetched once per origin per
//! [`ROBOTS_TTL`] through the same [`Fetcher`] (so the host's spacing and
//! budget apply), parsed with `texting_robots`, and asked for our user
//! agent's token.
//!
//! A `Crawl-delay` is obeyed (up to [`crate::fetch::MAX_CRAWL_DELAY`]): the
//! fetcher spaces every request to that host by it, polls included.
//!
//! As crawlers read it (RFC 9309): a `robots.txt` that is missing or
//! answers 4xx allows everything; one that cannot be fetched (5xx, network)
//! allows nothing for now, so the article is tried again later; an
//! unparsable file allows everything. The cache holds at most
//! [`MAX_ORIGINS`] origins (it is cleared when full: an origin's file is
//! then fetched again, which is only a little wasteful).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use url::Url;

use crate::config::Source;
use crate::fetch::{FetchError, FetchRequest, Fetched, Fetcher};

/// How long a fetched `robots.txt` is trusted.
pub const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);
/// Origins whose `robots.txt` is kept in memory.
pub const MAX_ORIGINS: usize = 1024;
/// The largest `robots.txt` read (Google reads 500 KiB).
pub const MAX_ROBOTS_BODY: usize = 512 * 1024;
/// The token matched against `User-agent:` lines.
pub const AGENT: &str = "feedloom";

/// One origin's rules: `None` allows everything.
type Rules = Option<Arc<texting_robots::Robot>>;

pub struct Robots {
    cache: Mutex<HashMap<String, (Rules, Instant)>>,
    /// Origins kept at most: [`MAX_ORIGINS`] (smaller in tests).
    capacity: usize,
    /// One lock per origin being fetched, so articles of one site asked
    /// at once fetch its `robots.txt` once.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Default for Robots {
    fn default() -> Self {
        Robots::with_capacity(MAX_ORIGINS)
    }
}

impl Robots {
    /// A cache of at most `capacity` origins.
    pub fn with_capacity(capacity: usize) -> Self {
        Robots {
            cache: Mutex::default(),
            capacity: capacity.max(1),
            fetching: Mutex::default(),
        }
    }

    /// Whether `url` may be fetched for `source`; an error when the
    /// origin's `robots.txt` could not be read (try again later).
    pub async fn allowed(
        &self,
        fetcher: &Fetcher,
        source: &Source,
        url: &Url,
    ) -> Result<bool, FetchError> {
        let origin = url.origin().ascii_serialization();
        if let Some(rules) = self.cached(&origin) {
            return Ok(verdict(fetcher, url, rules.as_deref()));
        }
        let lock = self
            .fetching
            .lock()
            .expect("robots lock")
            .entry(origin.clone())
            .or_default()
            .clone();
        let rules = {
            let _one = lock.lock().await;
            // Fetched by the task that held the lock before.
            match self.cached(&origin) {
                Some(rules) => rules,
                None => {
                    let fetched = fetch_rules(fetcher, source, url).await;
                    if let Ok(rules) = &fetched {
                        let mut cache = self.cache.lock().expect("robots cache lock");
                        if cache.len() >= self.capacity {
                            cache.clear();
                        }
                        cache.insert(origin.clone(), (rules.clone(), Instant::now()));
                    }
                    self.fetching.lock().expect("robots lock").remove(&origin);
                    fetched?
                }
            }
        };
        Ok(verdict(fetcher, url, rules.as_deref()))
    }

    /// Origins cached now, expired ones included (at most [`MAX_ORIGINS`]).
    pub fn origins(&self) -> usize {
        self.cache.lock().expect("robots cache lock").len()
    }

    fn cached(&self, origin: &str) -> Option<Rules> {
        let cache = self.cache.lock().expect("robots cache lock");
        cache
            .get(origin)
            .filter(|(_, at)| at.elapsed() < ROBOTS_TTL)
            .map(|(rules, _)| rules.clone())
    }
}

/// Whether `rules` allow `url`; a `Crawl-delay` they set is handed to the
/// fetcher, which then spaces every request to the host by it.
fn verdict(fetcher: &Fetcher, url: &Url, rules: Option<&texting_robots::Robot>) -> bool {
    let Some(rules) = rules else {
        return true;
    };
    if let Some(delay) = rules
        .delay
        .and_then(|d| Duration::try_from_secs_f32(d).ok())
    {
        fetcher.set_crawl_delay(url.host_str().unwrap_or_default(), delay);
    }
    rules.allowed(url.as_str())
}

async fn fetch_rules(fetcher: &Fetcher, source: &Source, url: &Url) -> Result<Rules, FetchError> {
    let mut robots_url = url.clone();
    robots_url.set_path("/robots.txt");
    robots_url.set_query(None);
    robots_url.set_fragment(None);
    let req = FetchRequest {
        timeout: source.timeout,
        max_body: MAX_ROBOTS_BODY,
        allow_http_redirect: source.allow_http_redirect,
        internal: source.internal,
        linked_from: Some(&source.url),
        ..FetchRequest::new(&robots_url)
    };
    match fetcher.fetch(&req).await {
        Ok(Fetched::Body { bytes, .. }) => {
            Ok(texting_robots::Robot::new(AGENT, &bytes).ok().map(Arc::new))
        }
        Ok(Fetched::NotModified(_)) => Ok(None),
        Err(FetchError::Status { status, .. }) if (400..500).contains(&status) && status != 429 => {
            Ok(None)
        }
        // Larger than any real robots.txt: read as allowing everything,
        // like an unparsable one.
        Err(FetchError::TooLarge { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
