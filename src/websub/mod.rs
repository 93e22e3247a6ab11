//! WebSub (W3C Recommendation, 23 January 2018): feedloom is the hub of its
//! own topic feeds, so an aggregator subscribes once instead of polling.
//!
//! Subscribing: a subscriber POSTs a form to `{base}websub` ([`request`]).
//! It is answered at once — `202 Accepted`, or `400` with the parameter at
//! fault, `429` past the request rate, `503` while too many verifications
//! are under way — and its intent is verified afterwards (`verify.rs`): a
//! GET to the callback with a random challenge, subscribed only if the
//! callback echoes it with a 2xx. A topic this server does not serve, or a
//! hub at its subscription caps, is denied to the callback instead.
//! Subscriptions are kept in the store (`store/subscriptions.rs`), leases
//! expire.
//!
//! Distributing: when the server renders a topic feed whose bytes changed
//! ([`crate::render::FeedCache::refresh`]), it tells the hub
//! ([`Hub::changed`]); every subscriber of that feed is then owed a POST of
//! the new document (`deliver.rs`), kept in the store until made.
//!
//! SECURITY: every callback is a stranger's URL. It must be `http(s)`,
//! without credentials, and may not reach loopback, private, link-local or
//! unique-local addresses ([`crate::fetch::is_internal`]), checked before
//! any request and again by the client's resolver when it connects (so a
//! name re-pointed in between gains nothing), unless the operator allows
//! it (`--websub-allow-private`). Requests to callbacks follow no
//! redirects, time out, and read at most [`MAX_ANSWER_BYTES`] of an
//! answer. Secrets are never logged; callbacks are logged without their
//! query.

mod deliver;
mod publish;
pub mod request;
mod verify;

pub use publish::{Published, Publisher, MAX_QUEUED, PUBLISH_TIMEOUT};

pub use deliver::{
    sign, DELIVERY_TIMEOUT, FIRST_RETRY, GIVE_UP_AFTER, MAX_DELIVERIES_IN_FLIGHT,
    MAX_DELIVERIES_PER_HOST, MAX_RETRY_GAP,
};

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Notify, Semaphore};
use url::Url;

use crate::fetch::is_internal;
use crate::store::{Store, Subscription};
use crate::urls::public_url;
use request::{HubRequest, Mode};

/// Subscriptions the hub keeps in all.
pub const MAX_SUBSCRIPTIONS: usize = 10_000;
/// Subscriptions whose callbacks share a host.
pub const MAX_PER_CALLBACK_HOST: usize = 100;
/// Verifications (and denials) under way at once; more requests get `503`.
pub const MAX_VERIFICATIONS_IN_FLIGHT: usize = 16;
/// Subscription requests accepted per second, on average...
pub const REQUESTS_PER_SECOND: f64 = 2.0;
/// ...and at most this many in a burst.
pub const REQUEST_BURST: f64 = 60.0;
/// How long a callback may take to answer a verification.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a callback's answer that is read.
pub const MAX_ANSWER_BYTES: usize = 1024;
/// How long a callback may take to resolve when a request is checked.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The hub's settings (`serve --websub…`).
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// Callbacks may be internal addresses (an intranet; the tests).
    pub allow_private: bool,
    /// Lease when a subscriber asks for none.
    pub lease_default: Duration,
    /// Leases asked for are brought within these.
    pub lease_min: Duration,
    pub lease_max: Duration,
}

impl Default for HubOptions {
    fn default() -> HubOptions {
        HubOptions {
            allow_private: false,
            lease_default: Duration::from_secs(10 * 86_400),
            lease_min: Duration::from_secs(3600),
            lease_max: Duration::from_secs(30 * 86_400),
        }
    }
}

/// Why a request is refused at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `400`: malformed, or a callback it may not call.
    BadRequest(String),
    /// `429`: past the request rate.
    TooMany,
    /// `503`: too many verifications under way.
    Busy,
}

/// What the hub has done since start, for `/status` and `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub refused: AtomicU64,
    pub verified: AtomicU64,
    pub unverified: AtomicU64,
    pub denied: AtomicU64,
    pub expired: AtomicU64,
    pub delivered: AtomicU64,
    /// Deliveries that failed (each try).
    pub failed: AtomicU64,
    /// Deliveries dropped after [`GIVE_UP_AFTER`] of failures.
    pub gave_up: AtomicU64,
}

/// Where the hub gets the documents it distributes: the server's rendered
/// feeds (the hub never renders).
pub trait Documents: Send + Sync + 'static {
    /// The current feed of `topic` in `format` as served under the public
    /// `base`; `None` when the topic is no longer served.
    fn document(
        &self,
        topic: &str,
        format: crate::render::Format,
        base: &Url,
    ) -> Result<Option<Arc<crate::render::Rendered>>, crate::store::StoreError>;
}

/// A token bucket: [`REQUEST_BURST`] requests at once, refilled at
/// [`REQUESTS_PER_SECOND`].
struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Hub {
    store: Store,
    options: HubOptions,
    client: reqwest::Client,
    verifying: Arc<Semaphore>,
    bucket: Mutex<Bucket>,
    pub counters: Counters,
    /// Raised when a delivery is owed or one finished.
    wake: Notify,
    delivering: Arc<Semaphore>,
    flight: deliver::Flight,
}

impl Hub {
    pub fn new(store: Store, options: HubOptions) -> Result<Hub, crate::fetch::FetchError> {
        let client = crate::fetch::outbound_client(!options.allow_private)?;
        Ok(Hub {
            store,
            options,
            client,
            verifying: Arc::new(Semaphore::new(MAX_VERIFICATIONS_IN_FLIGHT)),
            bucket: Mutex::new(Bucket {
                tokens: REQUEST_BURST,
                at: Instant::now(),
            }),
            counters: Counters::default(),
            wake: Notify::new(),
            delivering: Arc::new(Semaphore::new(MAX_DELIVERIES_IN_FLIGHT)),
            flight: deliver::Flight::default(),
        })
    }

    /// The hub's URL under a public base.
    pub fn hub_url(&self, base: &Url) -> String {
        format!("{base}websub")
    }

    /// Takes a subscription request (`body`, the form) that came in under
    /// the public `base`. `serves` says whether a topic id is served. On
    /// `Ok` the request is accepted (`202`) and verified in the background.
    pub async fn request(
        self: &Arc<Self>,
        body: &[u8],
        base: &Url,
        serves: impl Fn(&str) -> bool,
    ) -> Result<(), Refusal> {
        let refused = |r: Refusal| {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            r
        };
        if !self.take_token() {
            return Err(refused(Refusal::TooMany));
        }
        let req = request::parse(body, base).map_err(|e| refused(Refusal::BadRequest(e.0)))?;
        self.check_callback(&req.callback)
            .await
            .map_err(|e| refused(Refusal::BadRequest(e)))?;
        let Ok(permit) = self.verifying.clone().try_acquire_owned() else {
            return Err(refused(Refusal::Busy));
        };
        self.counters.accepted.fetch_add(1, Ordering::Relaxed);
        let served = serves(&req.topic.topic);
        let hub = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            hub.settle(req, served).await;
        });
        Ok(())
    }

    fn take_token(&self) -> bool {
        let mut b = self.bucket.lock().expect("websub bucket lock");
        let now = Instant::now();
        let refill = now.duration_since(b.at).as_secs_f64() * REQUESTS_PER_SECOND;
        b.tokens = (b.tokens + refill).min(REQUEST_BURST);
        b.at = now;
        if b.tokens < 1.0 {
            return false;
        }
        b.tokens -= 1.0;
        true
    }

    /// A callback may be called: its host is not internal, or resolves to
    /// no internal address (unless allowed).
    async fn check_callback(&self, callback: &Url) -> Result<(), String> {
        if self.options.allow_private {
            return Ok(());
        }
        let refuse = || "hub.callback points to a private or local address".to_string();
        let host = match callback.host() {
            Some(url::Host::Ipv4(ip)) => return ok_unless(is_internal(IpAddr::V4(ip)), refuse),
            Some(url::Host::Ipv6(ip)) => return ok_unless(is_internal(IpAddr::V6(ip)), refuse),
            Some(url::Host::Domain(d)) => d.to_string(),
            None => return Err("hub.callback has no host".into()),
        };
        let port = callback.port_or_known_default().unwrap_or(80);
        let addrs = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| "hub.callback: its host did not resolve in time".to_string())?
            .map_err(|_| "hub.callback: its host does not resolve".to_string())?;
        let mut any = false;
        for a in addrs {
            if is_internal(a.ip()) {
                return Err(refuse());
            }
            any = true;
        }
        ok_unless(!any, || "hub.callback: its host does not resolve".into())
    }

    /// Verifies and applies an accepted request, or denies it.
    async fn settle(&self, req: HubRequest, served: bool) {
        let shown = public_url(&req.callback);
        if let Some(reason) = self.denial(&req, served) {
            tracing::info!(
                "websub: denied {} of {} to {shown}: {reason}",
                req.mode.as_str(),
                req.topic.url
            );
            self.counters.denied.fetch_add(1, Ordering::Relaxed);
            verify::deny(&self.client, &req, &reason).await;
            return;
        }
        let lease = req
            .lease
            .unwrap_or(self.options.lease_default)
            .clamp(self.options.lease_min, self.options.lease_max);
        if let Err(why) = verify::intent(&self.client, &req, lease).await {
            tracing::info!(
                "websub: {} of {} to {shown} not verified: {why}",
                req.mode.as_str(),
                req.topic.url
            );
            self.counters.unverified.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let callback = req.callback.to_string();
        let format = req.topic.format.extension();
        let applied = match req.mode {
            Mode::Subscribe => {
                let now = Utc::now();
                let sub = Subscription {
                    topic: req.topic.topic.clone(),
                    format: format.to_string(),
                    topic_url: req.topic.url.clone(),
                    callback,
                    secret: req.secret.clone(),
                    lease_seconds: lease.as_secs(),
                    expires: now + chrono::Duration::from_std(lease).unwrap_or_default(),
                    since: now,
                };
                self.store.put_subscription(&sub).map(|_| ())
            }
            Mode::Unsubscribe => self
                .store
                .remove_subscription(&req.topic.topic, format, &callback)
                .map(|_| ()),
        };
        // On disk before anything relies on it (sled would otherwise take up
        // to `store::FLUSH_EVERY_MS`): a crash right after loses nothing.
        let applied = applied.and_then(|()| self.store.flush());
        match applied {
            Ok(()) => {
                // Counted once on disk, so `verified` on /metrics means
                // "will survive a crash".
                self.counters.verified.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    "websub: {} {} for {shown}",
                    req.mode.as_str(),
                    req.topic.url
                )
            }
            Err(e) => tracing::error!("websub: cannot store a subscription: {e}"),
        }
    }

    /// Why a request must be denied: a topic not served, or a new
    /// subscription past the caps.
    fn denial(&self, req: &HubRequest, served: bool) -> Option<String> {
        if !served {
            return Some(format!("no topic `{}` is served here", req.topic.topic));
        }
        if req.mode == Mode::Unsubscribe {
            return None;
        }
        let all = match self.store.subscriptions(None) {
            Ok(all) => all,
            Err(e) => return Some(format!("the hub cannot read its subscriptions: {e}")),
        };
        let callback = req.callback.as_str();
        let format = req.topic.format.extension();
        if all
            .iter()
            .any(|s| s.callback == callback && s.topic == req.topic.topic && s.format == format)
        {
            return None; // a renewal
        }
        if all.len() >= MAX_SUBSCRIPTIONS {
            return Some(format!(
                "the hub holds {MAX_SUBSCRIPTIONS} subscriptions, its most"
            ));
        }
        let host = req.callback.host_str().unwrap_or_default();
        let same_host = all
            .iter()
            .filter(|s| Url::parse(&s.callback).is_ok_and(|u| u.host_str() == Some(host)))
            .count();
        (same_host >= MAX_PER_CALLBACK_HOST).then(|| {
            format!("callbacks on {host} hold {MAX_PER_CALLBACK_HOST} subscriptions, their most")
        })
    }

    /// Drops subscriptions whose lease is over; returns how many.
    pub fn expire(&self) -> usize {
        match self.store.expire_subscriptions(Utc::now()) {
            Ok(gone) => {
                for s in &gone {
                    tracing::info!(
                        "websub: lease of {} for {} ended",
                        s.topic_url,
                        callback_shown(&s.callback)
                    );
                }
                self.counters
                    .expired
                    .fetch_add(gone.len() as u64, Ordering::Relaxed);
                gone.len()
            }
            Err(e) => {
                tracing::error!("websub: cannot expire subscriptions: {e}");
                0
            }
        }
    }

    /// Active subscriptions per topic.
    pub fn subscriptions_by_topic(&self) -> std::collections::BTreeMap<String, usize> {
        let mut out = std::collections::BTreeMap::new();
        for s in self.store.subscriptions(None).unwrap_or_default() {
            *out.entry(s.topic).or_insert(0) += 1;
        }
        out
    }

    /// What `/metrics` and `/status` show of the hub.
    pub fn stats(&self) -> crate::metrics::WebSubStats {
        let c = &self.counters;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        crate::metrics::WebSubStats {
            subscriptions: self.subscriptions_by_topic().into_iter().collect(),
            max_subscriptions: MAX_SUBSCRIPTIONS,
            verifying: MAX_VERIFICATIONS_IN_FLIGHT - self.verifying.available_permits(),
            max_verifying: MAX_VERIFICATIONS_IN_FLIGHT,
            outcomes: vec![
                ("accepted", n(&c.accepted)),
                ("refused", n(&c.refused)),
                ("verified", n(&c.verified)),
                ("unverified", n(&c.unverified)),
                ("denied", n(&c.denied)),
                ("expired", n(&c.expired)),
            ],
            deliveries: vec![
                ("delivered", n(&c.delivered)),
                ("failed", n(&c.failed)),
                ("gave_up", n(&c.gave_up)),
            ],
            owed: self.store.owed_deliveries().map_or(0, |o| o.len()),
            delivering: MAX_DELIVERIES_IN_FLIGHT - self.delivering.available_permits(),
            max_delivering: MAX_DELIVERIES_IN_FLIGHT,
        }
    }
}

fn ok_unless(refused: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if refused {
        Err(why())
    } else {
        Ok(())
    }
}

/// A stored callback as logs show it.
fn callback_shown(callback: &str) -> String {
    Url::parse(callback)
        .map(|u| public_url(&u))
        .unwrap_or_else(|_| "(unparsable callback)".into())
}
