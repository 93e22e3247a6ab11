//! What a running `serve` shares between its pollers, its background tasks
//! and every request: the store, the rendered documents, the definitions
//! in force, the metrics and the options it was started with.
//!
//! Its own module so the server depends on the state and not on the
//! service that starts it ([`crate::service`] builds an [`App`], the
//! server only reads it). The `/status` and `/metrics` views are in
//! `views`.

pub mod admin_guard;
mod views;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::config::Definitions;
use crate::metrics::{Metrics, PollOutcome};
use crate::poll::{Outcome, Poller, SourceReport};
use crate::render::FeedCache;
use crate::store::Store;

/// A connection with no request in flight and none started for this long
/// is closed (keep-alive and HTTP/2 alike; nginx keeps 75 s), unless
/// `--idle-timeout` says otherwise.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections served at once unless configured otherwise; past it a new
/// client closes the oldest connection that has sent no request yet, or
/// waits in the kernel's accept queue (see [`crate::server::run`]).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Shortest admin token accepted: a guessable token is worse than none.
pub const MIN_TOKEN_LEN: usize = 16;

/// How `serve` listens and builds public links.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: SocketAddr,
    /// The public base URL; default `http://BIND/`.
    pub base_url: Option<Url>,
    /// Honour `Forwarded` / `X-Forwarded-*` from a reverse proxy.
    pub trust_proxy: bool,
    pub max_connections: usize,
    /// Enables the `/admin/` views for requests bearing this token.
    pub admin_token: Option<String>,
    /// Public hosts (`host` or `host:port`) a trusted proxy may name; the
    /// base URL's host is always allowed.
    pub public_hosts: Vec<String>,
    /// Bytes the client-chosen cached documents may take.
    pub cache_bytes: usize,
    /// How long a connection may sit without a request before it is closed.
    pub idle_timeout: Duration,
    /// The WebSub hub's settings; `None`: no hub of our own (`--websub
    /// off`, or another hub named).
    pub websub: Option<crate::websub::HubOptions>,
    /// Another WebSub hub to name in feeds and to notify of changes
    /// (`--websub-hub`), instead of our own.
    pub websub_hub: Option<url::Url>,
}

impl ServeOptions {
    pub fn new(bind: SocketAddr) -> ServeOptions {
        ServeOptions {
            bind,
            base_url: None,
            trust_proxy: false,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            admin_token: None,
            public_hosts: Vec::new(),
            cache_bytes: crate::render::DEFAULT_CACHE_BYTES,
            idle_timeout: IDLE_TIMEOUT,
            websub: Some(crate::websub::HubOptions::default()),
            websub_hub: None,
        }
    }
}

/// The definitions in force and the poller built from them; replaced as a
/// whole on reload.
pub struct Live {
    pub defs: Arc<Definitions>,
    pub poller: Poller,
}

/// Everything a running server shares between the pollers and requests.
pub struct App {
    pub(crate) live: RwLock<Arc<Live>>,
    pub store: Store,
    pub feeds: FeedCache,
    pub options: ServeOptions,
    /// Shared with the server, which counts connections and requests from
    /// before the store is open.
    pub metrics: Arc<Metrics>,
    /// Set once every source has been polled once since start.
    pub ready: AtomicBool,
    /// Set once the store is in step with the rules in force (re-evaluated
    /// after start when the rules changed while it was down).
    pub rules_settled: AtomicBool,
    /// Set once every topic's documents, rendered from the store at start,
    /// are in the cache.
    pub warmed: AtomicBool,
    /// Held while the store is re-evaluated and the new rules put in force,
    /// so the start-up re-evaluation and a reload never interleave.
    pub(crate) rules_gate: tokio::sync::Mutex<()>,
    /// When each source is polled next.
    pub next_polls: Mutex<HashMap<String, DateTime<Utc>>>,
    pub(crate) feeds_dir: PathBuf,
    pub(crate) schedulers: Mutex<tokio::task::JoinSet<()>>,
    pub(crate) reloads_ok: AtomicU64,
    pub(crate) reloads_failed: AtomicU64,
    /// Raised by a poll that left the store over `max_entries`: retention
    /// runs then rather than at its next hourly pass.
    pub(crate) over_limit: tokio::sync::Notify,
    /// Full article fetches ([`crate::fulltext`]): counters and the
    /// `robots.txt` cache.
    pub articles: Arc<crate::fulltext::Articles>,
    /// Raised by a poll that owed article fetches: they start then rather
    /// than at the next check.
    pub(crate) articles_owed: tokio::sync::Notify,
    /// The WebSub hub, unless `--websub off` or another hub is named.
    pub hub: Option<Arc<crate::websub::Hub>>,
    /// Notifies the other hub (`--websub-hub`) of changes.
    pub publisher: Option<crate::websub::Publisher>,
    /// Failed admin-token attempts, per client.
    pub admin_guard: admin_guard::Guard,
}

impl App {
    /// The state of a server about to listen: not ready, rules not yet
    /// settled, no schedulers.
    pub fn new(
        live: Live,
        feeds: FeedCache,
        options: ServeOptions,
        feeds_dir: PathBuf,
        metrics: Arc<Metrics>,
    ) -> App {
        let hub = options.websub.clone().and_then(|o| {
            match crate::websub::Hub::new(live.poller.store.clone(), o) {
                Ok(hub) => Some(Arc::new(hub)),
                Err(e) => {
                    tracing::error!("websub: no hub, its HTTP client failed: {e}");
                    None
                }
            }
        });
        let publisher =
            options
                .websub_hub
                .clone()
                .and_then(|url| match crate::websub::Publisher::start(url) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        tracing::error!(
                            "websub: cannot notify the hub, its HTTP client failed: {e}"
                        );
                        None
                    }
                });
        App {
            hub,
            publisher,
            admin_guard: Default::default(),
            store: live.poller.store.clone(),
            live: RwLock::new(Arc::new(live)),
            feeds,
            options,
            metrics,
            ready: AtomicBool::new(false),
            rules_settled: AtomicBool::new(false),
            warmed: AtomicBool::new(false),
            rules_gate: tokio::sync::Mutex::new(()),
            next_polls: Mutex::default(),
            feeds_dir,
            schedulers: Mutex::default(),
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
            over_limit: tokio::sync::Notify::new(),
            articles: Arc::default(),
            articles_owed: tokio::sync::Notify::new(),
        }
    }

    /// `/readyz`: every source polled once, the store in step with the
    /// rules, and every topic rendered.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
            && self.rules_settled.load(Ordering::SeqCst)
            && self.warmed.load(Ordering::SeqCst)
    }

    /// Drops every rendered document and renders every topic of `defs`
    /// again (after `what` changed tags or topics).
    pub(crate) fn rerender_all(&self, defs: &Definitions, what: &str) {
        // A topic made private (or removed) keeps no public subscribers.
        if let Some(hub) = &self.hub {
            hub.forget_unserved(self);
        }
        self.feeds.clear();
        let topics = defs.rules.topics.iter().map(|t| t.id.as_str());
        match self.feeds.refresh(&self.store, defs, topics) {
            Ok(changed) => self.publish(&changed),
            Err(e) => tracing::error!("cannot render topics after {what}: {e}"),
        }
    }

    /// Tells the WebSub hub which feeds changed (their subscribers are
    /// owed the new documents).
    pub(crate) fn publish(&self, changed: &[(String, crate::render::Format)]) {
        if let Some(hub) = &self.hub {
            hub.changed(changed);
        }
        if let Some(p) = &self.publisher {
            let base = self.feeds.base_url();
            p.changed(
                changed
                    .iter()
                    .map(|(t, f)| format!("{base}{t}.{}", f.extension())),
            );
        }
    }

    /// The definitions and poller in force (a cheap handle).
    pub fn live(&self) -> Arc<Live> {
        self.live.read().expect("live lock").clone()
    }

    pub fn defs(&self) -> Arc<Definitions> {
        self.live().defs.clone()
    }

    /// Records a poll and re-renders the topics it changed.
    pub fn apply(&self, report: &SourceReport) {
        let outcome = match report.outcome {
            Outcome::Fetched => PollOutcome::Fetched,
            Outcome::NotModified => PollOutcome::NotModified,
            Outcome::Failed(_) => PollOutcome::Error,
        };
        self.metrics
            .record_poll(&report.source, outcome, report.duration.as_secs_f64());
        // The index and the topic pages show source health: they follow
        // it, whichever topics the poll changed.
        if report.health_changed {
            self.feeds.invalidate_health();
        }
        if report.changed_topics.is_empty() {
            // The index shows counts too.
            if report.counts.new > 0 {
                self.feeds.invalidate_index();
            }
            return;
        }
        self.refresh_topics(&report.changed_topics, &report.source);
    }

    /// Re-renders `topics` (their entries changed because of `why`) and
    /// publishes the feeds that changed.
    pub fn refresh_topics(&self, topics: &std::collections::BTreeSet<String>, why: &str) {
        let topics = topics.iter().map(String::as_str);
        match self.feeds.refresh(&self.store, &self.defs(), topics) {
            Ok(changed) => self.publish(&changed),
            Err(e) => tracing::error!("cannot render topics after {why}: {e}"),
        }
    }
}

/// The hub's documents are the server's: rendered, or taken from the
/// cache, exactly as a reader under the same public base gets them.
impl crate::websub::Documents for App {
    fn serves(&self, topic: &str) -> bool {
        self.defs().rules.public_topic(topic).is_some()
    }

    fn document(
        &self,
        topic: &str,
        format: crate::render::Format,
        base: &url::Url,
    ) -> Result<Option<Arc<crate::render::Rendered>>, crate::store::StoreError> {
        let defs = self.defs();
        // SECURITY: the hub's subscribers are the public's: a private
        // topic's feed is never delivered.
        let Some(t) = defs.rules.public_topic(topic) else {
            return Ok(None);
        };
        let doc = crate::render::Doc::Feed {
            of: crate::rules::FeedOf::Topic(topic.to_string()),
            format,
            limit: t.default_limit(),
            filter: None,
        };
        let base = (base != self.feeds.base_url()).then_some(base);
        self.feeds.get(&self.store, &defs, base, &doc)
    }
}
