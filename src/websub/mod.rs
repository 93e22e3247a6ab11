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
//! unique-local addresses ([`crate::fetch::is_internal`]), unless the
//! operator allows it (`--websub-allow-private`). Its host is resolved once
//! per request or delivery and the hub connects to the address it checked
//! and counted, nowhere else (`limits.rs`); a subscription is delivered
//! only at the address that confirmed it. The caps count by that address
//! and by the client that asked, not by host name. Requests to callbacks
//! follow no redirects, time out, and read at most [`MAX_ANSWER_BYTES`] of
//! an answer. Only topics served publicly may be subscribed to, and a
//! secret is taken only over https. Secrets are never logged; callbacks are
//! logged without their query.

mod deliver;
mod limits;
mod publish;
pub mod request;
mod verify;

pub use publish::{Published, Publisher, MAX_QUEUED, PUBLISH_TIMEOUT};

pub use deliver::{
    sign, DELIVERY_TIMEOUT, FIRST_RETRY, GIVE_UP_AFTER, MAX_DELIVERIES_IN_FLIGHT,
    MAX_DELIVERIES_PER_ADDRESS, MAX_RETRY_GAP,
};

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Notify, Semaphore};
use url::Url;

use crate::store::{Store, Subscription};
use crate::urls::public_url;
use limits::{unit, Pin, Pins, Tally};
use request::{HubRequest, Mode};

/// Subscriptions the hub keeps in all.
pub const MAX_SUBSCRIPTIONS: usize = 10_000;
/// Subscriptions whose callbacks are at one address (an IPv4 address or an
/// IPv6 /64), whatever their host names.
pub const MAX_SUBSCRIPTIONS_PER_ADDRESS: usize = 100;
/// Subscriptions one client asked for.
pub const MAX_SUBSCRIPTIONS_PER_CLIENT: usize = 1_000;
/// Verifications (and denials) under way at once; more requests get `503`.
pub const MAX_VERIFICATIONS_IN_FLIGHT: usize = 16;
/// ...of which one client's requests hold at most this many (so four
/// clients are needed to hold them all)...
pub const MAX_VERIFICATIONS_PER_CLIENT: usize = 4;
/// ...and callbacks at one address at most this many.
pub const MAX_VERIFICATIONS_PER_ADDRESS: usize = 4;
/// Entries the per-address and per-client tables (and the pinned callback
/// names) hold at most: each holds only keys with work under way, and
/// every such work holds a verification or delivery permit.
pub const MAX_ADDRESSES_TRACKED: usize =
    3 * MAX_VERIFICATIONS_IN_FLIGHT + 2 * MAX_DELIVERIES_IN_FLIGHT;
/// Subscription requests accepted per second from all clients, on
/// average...
pub const REQUESTS_PER_SECOND: f64 = 8.0;
/// ...and at most this many in a burst.
pub const REQUEST_BURST: f64 = 240.0;
/// One client's share: requests per second on average, and in a burst
/// (its address, an IPv6 /64). Checked before the hub's own bucket, so a
/// client flooding the hub spends its own tokens, not everyone's (with one
/// bucket for all, 12 junk requests a second from one address made 4 of
/// 10 subscriptions from another fail).
pub const CLIENT_REQUESTS_PER_SECOND: f64 = 2.0;
pub const CLIENT_REQUEST_BURST: f64 = 60.0;
/// Clients whose buckets are kept; past it, newcomers share one.
pub const MAX_CLIENT_BUCKETS: usize = 4096;
/// How long a callback may take to answer a verification.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a callback's answer that is read.
pub const MAX_ANSWER_BYTES: usize = 1024;

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
    /// `503`: too many verifications under way (in all, for this client or
    /// for this callback address): why.
    Busy(String),
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
    /// Whether `topic` is served publicly now (a private topic is not).
    fn serves(&self, topic: &str) -> bool;

    /// The current feed of `topic` in `format` as served under the public
    /// `base`; `None` when the topic is not served publicly (any more).
    fn document(
        &self,
        topic: &str,
        format: crate::render::Format,
        base: &Url,
    ) -> Result<Option<Arc<crate::render::Rendered>>, crate::store::StoreError>;
}

/// A token bucket: `burst` requests at once, refilled at `rate` a second.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: f64) -> Bucket {
        Bucket {
            tokens: burst,
            at: Instant::now(),
        }
    }

    /// Tokens at `now`, refilled.
    fn refill(&mut self, now: Instant, rate: f64, burst: f64) {
        let refill = now.duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + refill).min(burst);
        self.at = now;
    }

    fn take(&mut self, now: Instant, rate: f64, burst: f64) -> bool {
        self.refill(now, rate, burst);
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

pub struct Hub {
    store: Store,
    options: HubOptions,
    /// Connects only to pinned addresses (see `limits.rs`).
    client: reqwest::Client,
    pins: Arc<Pins>,
    verifying: Arc<Semaphore>,
    verifying_clients: Tally<IpAddr>,
    verifying_addresses: Tally<IpAddr>,
    /// Held while a new subscription is checked against the caps and
    /// stored, so concurrent verifications cannot pass a cap together.
    admitting: Mutex<()>,
    bucket: Mutex<Bucket>,
    /// Each client's share of it ([`CLIENT_REQUEST_BURST`]).
    client_buckets: Mutex<std::collections::HashMap<IpAddr, Bucket>>,
    pub counters: Counters,
    /// Raised when a delivery is owed or one finished.
    wake: Notify,
    delivering: Arc<Semaphore>,
    flight: deliver::Flight,
}

impl Hub {
    pub fn new(store: Store, options: HubOptions) -> Result<Hub, crate::fetch::FetchError> {
        let pins = Arc::new(Pins::default());
        // reqwest is built without a default crypto provider; installing
        // twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // SECURITY: names resolve only to the address the hub pinned; no
        // idle connection outlives its pin; no proxy from the environment
        // (it would connect instead of us, unchecked).
        let client = reqwest::Client::builder()
            .user_agent(crate::fetch::USER_AGENT)
            .connect_timeout(crate::fetch::CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(0)
            .dns_resolver(pins.clone())
            .build()
            .map_err(|e| crate::fetch::FetchError::Other(e.to_string()))?;
        Ok(Hub {
            store,
            options,
            client,
            pins,
            verifying: Arc::new(Semaphore::new(MAX_VERIFICATIONS_IN_FLIGHT)),
            verifying_clients: Tally::default(),
            verifying_addresses: Tally::default(),
            admitting: Mutex::new(()),
            bucket: Mutex::new(Bucket::full(REQUEST_BURST)),
            client_buckets: Mutex::default(),
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
    /// the public `base` from `client` (the peer, or the forwarded client
    /// behind a trusted proxy). `serves` says whether a topic id is served
    /// publicly. On `Ok` the request is accepted (`202`) and verified in
    /// the background.
    pub async fn request(
        self: &Arc<Self>,
        body: &[u8],
        base: &Url,
        client: IpAddr,
        serves: impl Fn(&str) -> bool,
    ) -> Result<(), Refusal> {
        let refused = |r: Refusal| {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            r
        };
        let bad = |why: String| refused(Refusal::BadRequest(why));
        let busy = |why: &str| refused(Refusal::Busy(why.to_string()));
        if !self.take_token(client) {
            return Err(refused(Refusal::TooMany));
        }
        let req = request::parse(body, base).map_err(|e| bad(e.0))?;
        // SECURITY: nothing is sent to a stranger's callback for a topic we
        // do not serve (the hub would GET any URL anyone names).
        if !serves(&req.topic.topic) {
            return Err(bad(format!(
                "hub.topic: no topic `{}` is served here",
                req.topic.topic
            )));
        }
        // SECURITY: a secret sent over plain http is known to everyone on
        // the way, and signs nothing then. The Recommendation (§5.1) says a
        // subscriber SHOULD send one only over https; the hub holds it to
        // that, judging by the scheme of the public base the request came
        // in through (the configured base, or a trusted proxy's).
        if req.secret.is_some() && base.scheme() != "https" {
            return Err(bad(
                "hub.secret is taken only over https (this request came over http)".into(),
            ));
        }
        // Every slot below is held with one of the hub's permits, so the
        // per-client and per-address tables stay within the permits' count.
        let Ok(permit) = self.verifying.clone().try_acquire_owned() else {
            return Err(busy("too many subscriptions are being verified"));
        };
        let client = unit(client);
        let Some(client_slot) = self
            .verifying_clients
            .try_take(client, MAX_VERIFICATIONS_PER_CLIENT)
        else {
            return Err(busy(&format!(
                "{MAX_VERIFICATIONS_PER_CLIENT} of your requests are being verified"
            )));
        };
        let target = limits::resolve(&req.callback, self.options.allow_private)
            .await
            .map_err(bad)?;
        let Some(pin) = self.pins.pin(&target, None) else {
            return Err(busy(
                "the callback's host is being called at another address",
            ));
        };
        let Some(address_slot) = self
            .verifying_addresses
            .try_take(unit(pin.addr), MAX_VERIFICATIONS_PER_ADDRESS)
        else {
            return Err(busy(&format!(
                "{MAX_VERIFICATIONS_PER_ADDRESS} callbacks at this address are being verified"
            )));
        };
        self.counters.accepted.fetch_add(1, Ordering::Relaxed);
        let hub = self.clone();
        tokio::spawn(async move {
            let _held = (permit, client_slot, address_slot);
            hub.settle(req, pin, client).await;
        });
        Ok(())
    }

    /// A token from `client`'s bucket, then from the hub's.
    fn take_token(&self, client: IpAddr) -> bool {
        let now = Instant::now();
        {
            let mut buckets = self.client_buckets.lock().expect("websub bucket lock");
            if buckets.len() >= MAX_CLIENT_BUCKETS
                && !buckets.contains_key(&crate::tally::unit(client))
            {
                // Forget the clients whose buckets have refilled: they are
                // as if new.
                buckets.retain(|_, b| {
                    b.refill(now, CLIENT_REQUESTS_PER_SECOND, CLIENT_REQUEST_BURST);
                    b.tokens < CLIENT_REQUEST_BURST
                });
            }
            let key = match buckets.len() < MAX_CLIENT_BUCKETS {
                true => crate::tally::unit(client),
                // Still full: newcomers share one bucket.
                false if buckets.contains_key(&crate::tally::unit(client)) => {
                    crate::tally::unit(client)
                }
                false => IpAddr::from([0, 0, 0, 0]),
            };
            let bucket = buckets
                .entry(key)
                .or_insert_with(|| Bucket::full(CLIENT_REQUEST_BURST));
            if !bucket.take(now, CLIENT_REQUESTS_PER_SECOND, CLIENT_REQUEST_BURST) {
                return false;
            }
        }
        let mut b = self.bucket.lock().expect("websub bucket lock");
        b.take(now, REQUESTS_PER_SECOND, REQUEST_BURST)
    }

    /// Verifies and applies an accepted request (its callback's host
    /// pinned to `pin`), or denies it.
    async fn settle(&self, req: HubRequest, pin: Pin, client: IpAddr) {
        if let Some(reason) = self.denial(&req, pin.addr, client) {
            return self.deny(&req, &reason).await;
        }
        let shown = public_url(&req.callback);
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
                    address: Some(pin.addr),
                    client: Some(client),
                    delivered: None,
                };
                // The caps again, now that the subscription would be
                // stored: verifications under way at once must not pass
                // a cap together.
                let admitted = {
                    let _admitting = self.admitting.lock().expect("admission lock");
                    match self.denial(&req, pin.addr, client) {
                        Some(reason) => Err(reason),
                        None => Ok(self.store.put_subscription(&sub).map(|_| ())),
                    }
                };
                match admitted {
                    Ok(stored) => stored,
                    Err(reason) => return self.deny(&req, &reason).await,
                }
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

    /// Tells the callback its request is denied, and why.
    async fn deny(&self, req: &HubRequest, reason: &str) {
        tracing::info!(
            "websub: denied {} of {} to {}: {reason}",
            req.mode.as_str(),
            req.topic.url,
            public_url(&req.callback)
        );
        self.counters.denied.fetch_add(1, Ordering::Relaxed);
        verify::deny(&self.client, req, reason).await;
    }

    /// Why a subscription must be denied: past the caps, in all, for the
    /// callback's address (`address`) or for the client that asked. A
    /// renewal is not a new subscription in all, but counts for the
    /// address and client it has now.
    fn denial(&self, req: &HubRequest, address: IpAddr, client: IpAddr) -> Option<String> {
        if req.mode == Mode::Unsubscribe {
            return None;
        }
        let all = match self.store.subscriptions(None) {
            Ok(all) => all,
            Err(e) => return Some(format!("the hub cannot read its subscriptions: {e}")),
        };
        let callback = req.callback.as_str();
        let format = req.topic.format.extension();
        let this = |s: &Subscription| {
            s.callback == callback && s.topic == req.topic.topic && s.format == format
        };
        let renewal = all.iter().any(this);
        if !renewal && all.len() >= MAX_SUBSCRIPTIONS {
            return Some(format!(
                "the hub holds {MAX_SUBSCRIPTIONS} subscriptions, its most"
            ));
        }
        let (address, client) = (unit(address), unit(client));
        let others = || all.iter().filter(|s| !this(s));
        if others()
            .filter(|s| s.address.map(unit) == Some(address))
            .count()
            >= MAX_SUBSCRIPTIONS_PER_ADDRESS
        {
            return Some(format!(
                "callbacks at {address} hold {MAX_SUBSCRIPTIONS_PER_ADDRESS} subscriptions, their most"
            ));
        }
        if others()
            .filter(|s| s.client.map(unit) == Some(client))
            .count()
            >= MAX_SUBSCRIPTIONS_PER_CLIENT
        {
            return Some(format!(
                "the client that asked holds {MAX_SUBSCRIPTIONS_PER_CLIENT} subscriptions, its most"
            ));
        }
        None
    }

    /// Ends the subscriptions of topics `docs` no longer serves publicly (a
    /// topic made private, or removed), with what was owed to them: a
    /// private topic has no public subscribers, and nothing names it.
    /// Returns how many.
    pub fn forget_unserved(&self, docs: &dyn Documents) -> usize {
        match self.store.remove_subscriptions_unless(|t| docs.serves(t)) {
            Ok(gone) => {
                for s in &gone {
                    tracing::info!(
                        "websub: {} is not served publicly any more: the subscription of {} ends",
                        s.topic,
                        callback_shown(&s.callback)
                    );
                }
                if !gone.is_empty() {
                    if let Err(e) = self.store.flush() {
                        tracing::error!("websub: cannot flush ended subscriptions: {e}");
                    }
                }
                gone.len()
            }
            Err(e) => {
                tracing::error!("websub: cannot end the subscriptions of unserved topics: {e}");
                0
            }
        }
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
            addresses: self.verifying_clients.len()
                + self.verifying_addresses.len()
                + self.flight.per_address.len()
                + self.pins.len(),
            max_addresses: MAX_ADDRESSES_TRACKED,
        }
    }
}

/// A stored callback as logs show it.
fn callback_shown(callback: &str) -> String {
    Url::parse(callback)
        .map(|u| public_url(&u))
        .unwrap_or_else(|_| "(unparsable callback)".into())
}
