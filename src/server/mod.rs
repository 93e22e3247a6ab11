//! The HTTP server (hyper 1: HTTP/1.1 with keep-alive, and HTTP/2 over
//! cleartext, h2c, on the same port). Document requests only ever read
//! cached bytes: rendering happens when topics change (see
//! [`crate::render::FeedCache`]).
//!
//! Routes (`GET` and `HEAD`; anything else is `405` with `Allow`):
//! `/` (and `/index.html`), `/{topic}.rss`, `/{topic}.atom`,
//! `/{topic}.json`, `/{topic}.html`, `/opml.xml`, `/healthz`, `/readyz`,
//! `/status`, `/metrics`, `/search.{rss,atom,json,html}`, a private
//! topic's `/p/{token}/{topic}.{ext}`; with an admin token,
//! `/admin/explain` and `/admin/token` (see [`admin`]).
//!
//! Every bound a client can push against is a constant here or a setting
//! (connections, first-request and idle time, HTTP/2 streams, resets and
//! pings, head size; the document cache's bytes and renders in
//! [`crate::render`]), and each is reported on `/metrics`.

pub mod admin;
mod hub;
pub mod proxy;
pub mod respond;

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::sync::Semaphore;

use crate::metrics::{Route, Timeout};
use crate::render::{Doc, Format};
use crate::rules::FeedOf;
use crate::state::App;

/// A connection must have sent one complete request head within this time
/// of being accepted, whatever its protocol (HTTP/1 head, HTTP/2 preface,
/// SETTINGS and HEADERS), or it is closed. Later HTTP/1 heads have the same
/// limit.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 keep-alive pings while a connection is open, and how long a ping
/// may go unanswered before the connection is closed.
pub const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
pub const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 streams one connection may have open at once.
pub const H2_MAX_STREAMS: u32 = 64;
/// HTTP/2 streams a client may reset before they are accepted, and resets
/// the server's own errors may cause, before the connection is closed
/// (the "rapid reset" flood, CVE-2023-44487).
pub const H2_MAX_PENDING_RESETS: usize = 20;
pub const H2_MAX_ERROR_RESETS: usize = 256;
/// Largest request head (HTTP/1 read buffer; HTTP/2 header list).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The defaults of what `serve`'s options set, kept with the options.
pub use crate::state::{DEFAULT_MAX_CONNECTIONS, IDLE_TIMEOUT};
/// How long requests in flight may take to finish after shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

type Body = Full<Bytes>;

/// What the watchdog of one connection knows of it.
struct Activity {
    /// Requests started on the connection.
    started: AtomicU64,
    /// Requests whose response is not ready yet.
    in_flight: AtomicUsize,
    /// When the last request started or finished, in milliseconds since
    /// the connection was accepted.
    last: AtomicU64,
    accepted: tokio::time::Instant,
    idle: Duration,
    /// Raised when the accept loop wants this connection's slot.
    shed: tokio::sync::Notify,
    /// Set once it was asked to make room (it is not asked twice).
    shedding: std::sync::atomic::AtomicBool,
}

/// How often a connection's watchdog looks again: a request moves its
/// deadline without waking it (a wake-up per request would cost the serving
/// path), so deadlines hold to within this.
const WATCHDOG_TICK: Duration = Duration::from_secs(1);

impl Activity {
    fn new(idle: Duration) -> Activity {
        Activity {
            started: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            last: AtomicU64::new(0),
            accepted: tokio::time::Instant::now(),
            idle,
            shed: tokio::sync::Notify::new(),
            shedding: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn touch(&self) {
        let ms = self.accepted.elapsed().as_millis() as u64;
        self.last.store(ms, Ordering::Relaxed);
    }

    /// When the connection must be closed if nothing happens before, and
    /// why.
    fn deadline(&self) -> (tokio::time::Instant, Timeout) {
        if self.started.load(Ordering::Relaxed) == 0 {
            return (self.accepted + HEADER_READ_TIMEOUT, Timeout::FirstRequest);
        }
        let last = self.accepted + Duration::from_millis(self.last.load(Ordering::Relaxed));
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            // Responses are built from cached bytes or one bounded render;
            // check again later.
            return (tokio::time::Instant::now() + self.idle, Timeout::Idle);
        }
        (last + self.idle, Timeout::Idle)
    }
}

/// Counts a request in flight until dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(a: &Arc<Activity>) -> InFlight {
        a.started.fetch_add(1, Ordering::Relaxed);
        a.in_flight.fetch_add(1, Ordering::Relaxed);
        a.touch();
        InFlight(a.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// The connections being served, by the order they were accepted in, so
/// that one can be asked to make room.
#[derive(Default)]
struct Served {
    next: AtomicU64,
    conns: std::sync::Mutex<std::collections::HashMap<u64, Arc<Activity>>>,
}

impl Served {
    fn add(&self, a: &Arc<Activity>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.conns
            .lock()
            .expect("connections lock")
            .insert(id, a.clone());
        id
    }

    fn remove(&self, id: u64) {
        self.conns.lock().expect("connections lock").remove(&id);
    }

    /// Asks one connection to close and make room; `false` if none may.
    /// First the one accepted first among those that have not sent a
    /// complete request; else the one idle the longest between requests
    /// (a keep-alive connection with nothing in flight: HTTP lets either
    /// side close it then). Never one whose answer is under way.
    ///
    /// SECURITY: shedding silent connections alone left a client that
    /// sends a cheap request now and then on each of its connections
    /// holding every slot (16 of 16, a new client unanswered for 35 s).
    fn shed_one(&self) -> bool {
        let conns = self.conns.lock().expect("connections lock");
        let asked = |a: &&Arc<Activity>| !a.shedding.load(Ordering::Relaxed);
        let silent = conns
            .values()
            .filter(asked)
            .filter(|a| a.started.load(Ordering::Relaxed) == 0)
            .min_by_key(|a| a.accepted);
        let idle = || {
            conns
                .values()
                .filter(asked)
                .filter(|a| a.in_flight.load(Ordering::Relaxed) == 0)
                .min_by_key(|a| a.accepted + Duration::from_millis(a.last.load(Ordering::Relaxed)))
        };
        match silent.or_else(idle) {
            Some(a) => {
                a.shedding.store(true, Ordering::Relaxed);
                a.shed.notify_one();
                true
            }
            None => false,
        }
    }
}

/// How long the accept loop waits for the slot of a connection it asked to
/// make room before it asks another (the one asked may have just sent its
/// request, and then it is kept).
const SHED_RETRY: Duration = Duration::from_millis(50);

/// Whether requests for `path` carry their [`proxy::Peer`]: the admin
/// views and the WebSub hub. Not documents (they are handed the address
/// directly): an extension costs an allocation per request on the path
/// that serves feeds.
fn wants_peer(path: &str) -> bool {
    path.starts_with(admin::PREFIX) || path == hub::PATH
}

/// Accepts connections until `shutdown` resolves, then lets requests in
/// flight finish (up to [`SHUTDOWN_GRACE`]).
///
/// SECURITY: hyper's own `header_read_timeout` covers HTTP/1 heads only; a
/// connection that sent nothing, or only the HTTP/2 preface, was never
/// closed, and a few of them held every connection slot. So each
/// connection has a watchdog: no complete request within
/// [`HEADER_READ_TIMEOUT`] of accept, or no request for the idle timeout,
/// and it is closed (counted in `feedloom_connection_timeouts_total`).
///
/// SECURITY: even so, connections that never send a request, opened as
/// fast as the deadline closes them, held every slot, and a client with a
/// request waited out the deadline of each batch before it. So when every
/// slot is taken, a new connection makes room: the oldest one that has
/// not sent a complete request is closed, else the one idle the longest
/// between requests (counted in `feedloom_connections_shed_total`). Only
/// when every connection has an answer under way does the new one wait
/// for a slot, and the clients after it in the kernel's accept queue.
///
/// The server listens before the store is open (opening a large store
/// replays sled's log, which takes seconds): until `app` holds the
/// [`App`], `/healthz` answers at once, `/readyz` says the store is
/// opening, and every other request waits for it.
pub async fn run(
    listener: tokio::net::TcpListener,
    opening: Opening,
    app: tokio::sync::watch::Receiver<Option<Arc<App>>>,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_BYTES as u32)
        .max_concurrent_streams(H2_MAX_STREAMS)
        .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS)
        .max_local_error_reset_streams(H2_MAX_ERROR_RESETS)
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(opening.max_connections.max(1)));
    let served = Arc::new(Served::default());
    tokio::pin!(shutdown);
    'accept: loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // A slot, or room made by closing a silent or idle one; one
        // accepted connection at most waits here, the rest in the kernel's
        // queue.
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => loop {
                let asked = served.shed_one();
                tokio::select! {
                    p = slots.clone().acquire_owned() => break p.expect("semaphore never closed"),
                    _ = tokio::time::sleep(SHED_RETRY), if asked => {}
                    _ = &mut shutdown => break 'accept,
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new(opening.idle_timeout));
        let id = served.add(&activity);
        let (app_c, activity_c, metrics_c) =
            (app.clone(), activity.clone(), opening.metrics.clone());
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            let guard = InFlight::new(&activity_c);
            if wants_peer(req.uri().path()) {
                req.extensions_mut().insert(proxy::Peer(peer.ip()));
            }
            let (mut app, metrics) = (app_c.clone(), metrics_c.clone());
            async move {
                let resp = match while_opening(&mut app, &metrics, &req).await {
                    Some(resp) => resp,
                    None => {
                        let ready = app.borrow().clone();
                        match ready {
                            Some(app) => handle(app, req, peer.ip()).await,
                            None => plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
                        }
                    }
                };
                drop(guard);
                Ok::<_, Infallible>(resp)
            }
        });
        let conn = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        let (metrics, served) = (opening.metrics.clone(), served.clone());
        metrics.connections_open.fetch_add(1, Ordering::Relaxed);
        metrics.connections_total.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            tokio::pin!(conn);
            loop {
                let (deadline, why) = activity.deadline();
                let now = tokio::time::Instant::now();
                if deadline <= now {
                    metrics.record_timeout(why);
                    tracing::debug!("closing a connection: {why:?} timeout");
                    break;
                }
                tokio::select! {
                    result = &mut conn => {
                        if let Err(e) = result {
                            tracing::debug!("connection ended with error: {e}");
                        }
                        break;
                    }
                    _ = activity.shed.notified() => {
                        // Unless a request is under way on it meanwhile.
                        if activity.in_flight.load(Ordering::Relaxed) == 0 {
                            metrics.connections_shed.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!("closing a silent or idle connection to make room");
                            break;
                        }
                        activity.shedding.store(false, Ordering::Relaxed);
                    }
                    _ = tokio::time::sleep_until(deadline.min(now + WATCHDOG_TICK)) => {}
                }
            }
            served.remove(id);
            metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {SHUTDOWN_GRACE:?}; closing them");
    }
}

/// What the server needs before the store is open: its connection bounds
/// and the metrics the [`App`] will share.
pub struct Opening {
    pub max_connections: usize,
    pub idle_timeout: Duration,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The answer to a request that arrives before the [`App`] exists:
/// `/healthz` and `/readyz` answer at once; anything else waits for the
/// App (`None`: handle it as usual). A request never waits on a store that
/// failed to open: the process exits then.
async fn while_opening(
    app: &mut tokio::sync::watch::Receiver<Option<Arc<App>>>,
    metrics: &crate::metrics::Metrics,
    req: &Request<Incoming>,
) -> Option<Response<Body>> {
    if app.borrow().is_some() {
        return None;
    }
    let (route, mut resp) = match req.uri().path() {
        "/healthz" => (Route::Healthz, plain(StatusCode::OK, "ok\n")),
        "/readyz" => (
            Route::Readyz,
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: opening the store\n",
            ),
        ),
        _ => {
            // An error only if the sender is gone: the process is exiting.
            let _ = app.wait_for(Option::is_some).await;
            return None;
        }
    };
    harden(&mut resp);
    let bytes = if req.method() == Method::HEAD {
        0
    } else {
        body_len(&resp)
    };
    metrics.record_request(route, resp.status().as_u16(), bytes);
    Some(resp)
}

/// Routes one request that came from `peer`, counts it, and adds the
/// headers every response carries.
pub async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
    peer: std::net::IpAddr,
) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    let (route, mut resp) = if req.uri().path().starts_with(admin::PREFIX) {
        (Route::Admin, admin::handle(app.clone(), req).await)
    } else if req.uri().path() == hub::PATH {
        (Route::WebSub, hub::handle(app.clone(), req).await)
    } else {
        route(&app, req, peer).await
    };
    harden(&mut resp);
    let bytes = if head { 0 } else { body_len(&resp) };
    app.metrics
        .record_request(route, resp.status().as_u16(), bytes);
    resp
}

/// SECURITY: no response is sniffed into another type; HTML pages load
/// nothing but their inline style and upstream images, run no script,
/// cannot be framed, and send no referrer to the sites they link.
fn harden(resp: &mut Response<Body>) {
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let html = h
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if html {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; media-src http: https:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
}

fn body_len(resp: &Response<Body>) -> usize {
    use hyper::body::Body as _;
    resp.body().size_hint().exact().unwrap_or(0) as usize
}

async fn route(
    app: &Arc<App>,
    req: Request<Incoming>,
    peer: std::net::IpAddr,
) -> (Route, Response<Body>) {
    let path = req.uri().path();
    let route = match path {
        "/healthz" => Route::Healthz,
        "/readyz" => Route::Readyz,
        "/status" => Route::Status,
        "/metrics" => Route::Metrics,
        _ => Route::NotFound,
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return (route, r);
    }
    match route {
        Route::Healthz => (route, plain(StatusCode::OK, "ok\n")),
        // Ready once every source has been polled once since start.
        Route::Readyz if app.is_ready() => (route, plain(StatusCode::OK, "ready\n")),
        Route::Readyz if !app.rules_settled.load(Ordering::SeqCst) => (
            route,
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: re-evaluating stored entries under changed rules\n",
            ),
        ),
        Route::Readyz if !app.warmed.load(Ordering::SeqCst) => (
            route,
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: rendering the topics from the store\n",
            ),
        ),
        Route::Readyz => (
            route,
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: first poll running\n",
            ),
        ),
        Route::Status => (route, dynamic(app.status_json(), "application/json")),
        Route::Metrics => (
            route,
            dynamic(
                app.metrics_text(),
                "text/plain; version=0.0.4; charset=utf-8",
            ),
        ),
        _ => document(app, &req, peer).await,
    }
}

/// Request headers a response depends on when proxy headers are trusted.
const VARY_FORWARDED: &str =
    "Accept-Encoding, Forwarded, X-Forwarded-Proto, X-Forwarded-Host, X-Forwarded-Prefix";

/// A document request: `/`, `/opml.xml`, `/{topic}.{rss,atom,json,html}`.
/// Served from the cache; a miss is rendered on the blocking pool, at most
/// [`crate::render::MAX_RENDERS_IN_FLIGHT`] at once.
async fn document(
    app: &Arc<App>,
    req: &Request<Incoming>,
    peer: std::net::IpAddr,
) -> (Route, Response<Body>) {
    let path = req.uri().path();
    let defs = app.defs();
    if let Some((token, rest)) = split_private(path) {
        if !token_opens(app, &defs, token, rest) {
            return (Route::NotFound, plain(StatusCode::NOT_FOUND, "not found\n"));
        }
    }
    let Asked { route, doc, token } = match parse_document(&defs, path, req.uri().query()) {
        Ok(found) => found,
        Err((route, status, msg)) => return (route, plain(status, &msg)),
    };
    let mut base = forwarded_base(app, req.headers());
    if let Some(token) = token {
        base = Some(private_base(app, token, base.as_ref()));
    }
    // WebSub discovery (§4) for a public feed: the hub and the topic's
    // canonical URL, as headers.
    let discovery = match &doc {
        Doc::Feed { .. } if token.is_none() => {
            let b = base.as_ref().unwrap_or(app.feeds.base_url());
            app.feeds.hub().url(b).and_then(|hub| {
                HeaderValue::from_str(&format!(
                    "<{hub}>; rel=\"hub\", <{b}{}>; rel=\"self\"",
                    doc.path()
                ))
                .ok()
            })
        }
        _ => None,
    };
    let rendered = match app.feeds.lookup(base.as_ref(), &doc) {
        Some(r) => Ok(Some(r)),
        None => {
            let client = proxy::client_addr(peer, req.headers(), app.options.trust_proxy);
            render_off_workers(app, defs, base, doc, client).await
        }
    };
    let mut resp = match rendered {
        Ok(Some(r)) => respond::cached(req.headers(), &r),
        Ok(None) => return (Route::NotFound, plain(StatusCode::NOT_FOUND, "not found\n")),
        Err(RenderFailed::Busy) => {
            let mut r = plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy rendering other documents; try again in a second\n",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return (route, r);
        }
        Err(e) => {
            tracing::error!("rendering {}: {e}", loggable(path));
            return (
                route,
                plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
            );
        }
    };
    if app.options.trust_proxy {
        resp.headers_mut()
            .insert(header::VARY, HeaderValue::from_static(VARY_FORWARDED));
    }
    if let Some(link) = discovery {
        resp.headers_mut().insert(header::LINK, link);
    }
    if token.is_some() {
        // Shared caches must not keep, nor search engines list, what
        // only a token's holder may read.
        let h = resp.headers_mut();
        let private = h
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.replace("public", "private"))
            .and_then(|v| HeaderValue::from_str(&v).ok())
            .unwrap_or(HeaderValue::from_static("private"));
        h.insert(header::CACHE_CONTROL, private);
        h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    }
    (route, resp)
}

/// Whether `token` opens the private topic `/{rest}` names
/// (`/{topic}.{ext}` or `/{topic}.digest.{ext}`).
///
/// SECURITY: checked before anything else of the request is read (the
/// query above all): to anyone without the token, a private topic answers
/// exactly like a topic that does not exist, whatever they ask of it (a
/// `400` for `?limit=0` was enough to tell a private topic's name). The
/// token tree is a few small values that sled keeps in its page cache,
/// so it is read in place, like the document cache; it is read for a
/// name that is no private topic too, so that the time taken differs by
/// one digest at most.
fn token_opens(app: &App, defs: &crate::config::Definitions, token: &str, rest: &str) -> bool {
    let name = rest
        .strip_prefix('/')
        .and_then(|p| p.rsplit_once('.'))
        .map_or("", |(name, _)| name);
    let private = |t: &str| defs.rules.topic(t).is_some_and(|t| t.private);
    let topic = match name.strip_suffix(".digest") {
        Some(stem) if !private(name) && private(stem) => stem,
        _ => name,
    };
    match app.store.token_opens(topic, token) {
        Ok(opens) => opens && private(topic),
        Err(e) => {
            tracing::error!("reading a private topic's token: {e}");
            false
        }
    }
}

/// The base a private topic's documents are rendered under,
/// `{base}p/{token}/`, once [`token_opens`] said the token is the topic's.
fn private_base(app: &App, token: &str, base: Option<&url::Url>) -> url::Url {
    let base = base.unwrap_or(app.feeds.base_url());
    base.join(&format!("p/{token}/"))
        .unwrap_or_else(|_| base.clone())
}

/// The public base a trusted proxy names for a request (`None`: the
/// default base).
fn forwarded_base(app: &App, headers: &hyper::HeaderMap) -> Option<url::Url> {
    if !app.options.trust_proxy {
        return None;
    }
    proxy::forwarded_base(headers, app.feeds.base_url(), &app.options.public_hosts)
}

/// A cache miss: waits for a render slot, then renders on the blocking
/// pool (unless another request rendered the same document meanwhile).
async fn render_off_workers(
    app: &Arc<App>,
    defs: Arc<crate::config::Definitions>,
    base: Option<url::Url>,
    doc: Doc,
    client: std::net::IpAddr,
) -> Result<Option<Arc<crate::render::Rendered>>, RenderFailed> {
    let queued = app
        .feeds
        .queue_for_render(client)
        .ok_or(RenderFailed::Busy)?;
    let slot = app
        .feeds
        .render_slots()
        .clone()
        .acquire_owned()
        .await
        .expect("render slots never close");
    if let Some(r) = app.feeds.lookup(base.as_ref(), &doc) {
        return Ok(Some(r));
    }
    let app = app.clone();
    // SECURITY: the place in the queue and the slot go with the render,
    // not with this request: a client that hangs up drops this future,
    // but the render runs on, and it must still count (clients that sent
    // a query and closed at once had 190 threads rendering).
    let rendered = tokio::task::spawn_blocking(move || {
        let _held = (queued, slot);
        app.feeds.get(&app.store, &defs, base.as_ref(), &doc)
    })
    .await??;
    Ok(rendered)
}

/// Why a document could not be rendered (logged; the client gets a 500).
#[derive(Debug, thiserror::Error)]
enum RenderFailed {
    /// The render queue is full ([`crate::render::MAX_RENDERS_QUEUED`]):
    /// the client gets a 503 with `Retry-After`.
    #[error("the render queue is full")]
    Busy,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("render task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Where a private topic is served: `/p/{token}/{topic}.{ext}`.
pub const PRIVATE_PREFIX: &str = "/p/";

/// A document request, parsed.
#[derive(Debug)]
pub struct Asked<'a> {
    pub route: Route,
    pub doc: Doc,
    /// For `/p/{token}/…`: the token given, still to be checked against
    /// the topic's.
    pub token: Option<&'a str>,
}

/// `/p/{token}/{rest}` as the token and `/{rest}`.
fn split_private(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(PRIVATE_PREFIX)?;
    let slash = rest.find('/')?;
    Some((&rest[..slash], &rest[slash..]))
}

/// A request path as logs may show it: a private topic's token left out.
pub fn loggable(path: &str) -> String {
    match split_private(path) {
        Some((_, rest)) => format!("{PRIVATE_PREFIX}…{rest}"),
        None => path.to_string(),
    }
}

/// The document a path (and query) asks for: `/`, `/index.html`,
/// `/opml.xml`, `/{topic}.{rss,atom,json,html}` and
/// `/search.{rss,atom,json,html}` with `?limit=` and filter parameters
/// ([`crate::query`]), and a private topic's documents under
/// `/p/{token}/`; else the route to count and the error to answer. A
/// private topic's public URL is answered exactly like an unknown topic's.
pub fn parse_document<'a>(
    defs: &crate::config::Definitions,
    path: &'a str,
    query: Option<&str>,
) -> Result<Asked<'a>, (Route, StatusCode, String)> {
    if let Some((token, rest)) = split_private(path) {
        let (route, doc) = parse_topic_document(defs, rest, query, true)?;
        return Ok(Asked {
            route,
            doc,
            token: Some(token),
        });
    }
    let (route, doc) = match path {
        "/" | "/index.html" => (Route::Index, Doc::Index),
        "/opml.xml" => (Route::Opml, Doc::Opml),
        _ => parse_topic_document(defs, path, query, false)?,
    };
    Ok(Asked {
        route,
        doc,
        token: None,
    })
}

/// `/{topic}.{ext}`, of a public topic or `/search`, or (`private`) of a
/// private topic.
fn parse_topic_document(
    defs: &crate::config::Definitions,
    path: &str,
    query: Option<&str>,
    private: bool,
) -> Result<(Route, Doc), (Route, StatusCode, String)> {
    let not_found = |msg: String| (Route::NotFound, StatusCode::NOT_FOUND, msg);
    let Some((topic, ext)) = path.strip_prefix('/').and_then(|p| p.rsplit_once('.')) else {
        return Err(not_found("not found\n".into()));
    };
    let route = match ext {
        "html" => Route::Preview,
        e if Format::from_extension(e).is_some() => Route::Feed,
        _ => return Err(not_found("not found\n".into())),
    };
    let found = match private {
        true => defs.rules.topic(topic).filter(|t| t.private),
        false => defs.rules.public_topic(topic),
    };
    if let (Some(stem), None, Some(format)) = (
        topic.strip_suffix(".digest"),
        found,
        Format::from_extension(ext),
    ) {
        return digest_document(defs, stem, format, query, private);
    }
    let (of, default_limit, max_limit) = match found {
        Some(t) => (FeedOf::Topic(t.id.clone()), t.default_limit(), t.max_items),
        // The one place the name of every entry's documents is read.
        None if topic == crate::rules::SEARCH && !private => (
            FeedOf::Everything,
            crate::rules::DEFAULT_LIMIT,
            crate::rules::MAX_LIMIT,
        ),
        // Under `/p/` nothing tells which part was wrong.
        None if private => return Err(not_found("not found\n".into())),
        None => return Err(not_found(format!("unknown topic `{topic}`\n"))),
    };
    let asker = match private {
        true => crate::query::Asker::TokenHolder,
        false => crate::query::Asker::Public,
    };
    let asked = crate::query::parse_for(query, defs, max_limit, asker)
        .map_err(|e| (route, StatusCode::BAD_REQUEST, format!("{e}\n")))?;
    let doc = match Format::from_extension(ext) {
        Some(format) => Doc::Feed {
            of,
            format,
            limit: asked.limit.unwrap_or(default_limit),
            filter: asked.filter,
        },
        None => Doc::Preview {
            of,
            filter: asked.filter,
        },
    };
    Ok((route, doc))
}

/// `/{topic}.digest.{rss,atom,json}` of a topic with `digest` set. Takes
/// no parameters: a digest is the same for everyone.
fn digest_document(
    defs: &crate::config::Definitions,
    topic: &str,
    format: Format,
    query: Option<&str>,
    private: bool,
) -> Result<(Route, Doc), (Route, StatusCode, String)> {
    let found = match private {
        true => defs.rules.topic(topic).filter(|t| t.private),
        false => defs.rules.public_topic(topic),
    };
    let digest = match found {
        Some(t) => t.digest.as_ref(),
        None if private => None,
        None => {
            let msg = format!("unknown topic `{topic}`\n");
            return Err((Route::NotFound, StatusCode::NOT_FOUND, msg));
        }
    };
    let Some(digest) = digest else {
        let msg = match private {
            true => "not found\n".to_string(),
            false => format!("topic `{topic}` has no digest (`digest = \"daily\"` or `\"weekly\"` in its definition)\n"),
        };
        return Err((Route::NotFound, StatusCode::NOT_FOUND, msg));
    };
    if let Some(param) = query
        .into_iter()
        .flat_map(|q| url::form_urlencoded::parse(q.as_bytes()))
        .map(|(k, _)| k)
        .next()
    {
        let msg = format!("`{param}`: a digest takes no parameters\n");
        return Err((Route::Digest, StatusCode::BAD_REQUEST, msg));
    }
    let doc = Doc::Digest {
        topic: topic.to_string(),
        format,
        closed: digest.current_start(chrono::Utc::now()),
    };
    Ok((Route::Digest, doc))
}

pub(crate) fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::copy_from_slice(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A response computed per request (status, metrics): small, never cached.
fn dynamic(body: String, content_type: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
