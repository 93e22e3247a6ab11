//! The HTTP server (hyper 1: HTTP/1.1 with keep-alive, and HTTP/2 over
//! cleartext, h2c, on the same port). Document requests only ever read
//! cached bytes: rendering happens when topics change (see
//! [`crate::render::FeedCache`]).
//!
//! Routes (`GET` and `HEAD`; anything else is `405` with `Allow`):
//! `/` (and `/index.html`), `/{topic}.rss`, `/{topic}.atom`,
//! `/{topic}.json`, `/{topic}.html`, `/opml.xml`, `/healthz`, `/readyz`,
//! `/status`, `/metrics`; with an admin token, `/admin/explain` (see
//! [`admin`]).

pub mod admin;
pub mod proxy;
pub mod respond;

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::Ordering;
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

use crate::metrics::Route;
use crate::render::{Doc, Format};
use crate::service::App;

/// A client that has not sent its request head by then is dropped, so slow
/// clients cannot hold connections forever.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (HTTP/1 read buffer; HTTP/2 header list).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Connections served at once unless configured otherwise; further clients
/// wait in the kernel's accept queue.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// How long requests in flight may take to finish after shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

type Body = Full<Bytes>;

/// Accepts connections until `shutdown` resolves, then lets requests in
/// flight finish (up to [`SHUTDOWN_GRACE`]).
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
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
        .max_header_list_size(MAX_HEADER_BYTES as u32);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(app.options.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        // Take a slot before accepting: at the limit, new clients wait in
        // the accept queue instead of being half-served.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("semaphore never closed"),
            _ = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let service = hyper::service::service_fn(move |req| {
                    let app = app.clone();
                    async move {
                        if req.uri().path().starts_with(admin::PREFIX) {
                            let head = req.method() == Method::HEAD;
                            let resp = admin::handle(app.clone(), req).await;
                            let bytes = if head { 0 } else { body_len(&resp) };
                            app.metrics.record_request(Route::Admin, resp.status().as_u16(), bytes);
                            return Ok::<_, Infallible>(resp);
                        }
                        Ok(handle(&app, req))
                    }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection ended with error: {e}");
                    }
                    drop(permit);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {SHUTDOWN_GRACE:?}; closing them");
    }
}

/// Routes one request and counts it.
pub fn handle(app: &App, req: Request<Incoming>) -> Response<Body> {
    let (route, resp) = route(app, &req);
    let bytes = if req.method() == Method::HEAD {
        0
    } else {
        body_len(&resp)
    };
    app.metrics
        .record_request(route, resp.status().as_u16(), bytes);
    resp
}

fn body_len(resp: &Response<Body>) -> usize {
    use hyper::body::Body as _;
    resp.body().size_hint().exact().unwrap_or(0) as usize
}

fn route(app: &App, req: &Request<Incoming>) -> (Route, Response<Body>) {
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
        _ => document(app, req, path),
    }
}

/// A document request: `/`, `/opml.xml`, `/{topic}.{rss,atom,json,html}`.
fn document(app: &App, req: &Request<Incoming>, path: &str) -> (Route, Response<Body>) {
    let defs = app.defs();
    let not_found = |msg: &str| (Route::NotFound, plain(StatusCode::NOT_FOUND, msg));
    let (route, doc) = match path {
        "/" | "/index.html" => (Route::Index, Doc::Index),
        "/opml.xml" => (Route::Opml, Doc::Opml),
        _ => {
            let Some((topic, ext)) = path.strip_prefix('/').and_then(|p| p.rsplit_once('.')) else {
                return not_found("not found\n");
            };
            let route = match ext {
                "html" => Route::Preview,
                e if Format::from_extension(e).is_some() => Route::Feed,
                _ => return not_found("not found\n"),
            };
            let Some(t) = defs.rules.topic(topic) else {
                return not_found(&format!("unknown topic `{topic}`\n"));
            };
            let doc = match Format::from_extension(ext) {
                Some(format) => {
                    let limit = match limit_param(req.uri().query(), t.default_limit(), t.max_items)
                    {
                        Ok(l) => l,
                        Err(msg) => return (route, plain(StatusCode::BAD_REQUEST, &msg)),
                    };
                    Doc::Feed {
                        topic: topic.to_string(),
                        format,
                        limit,
                    }
                }
                None => Doc::Preview {
                    topic: topic.to_string(),
                },
            };
            (route, doc)
        }
    };
    let base = if app.options.trust_proxy {
        proxy::forwarded_base(req.headers(), app.feeds.base_url())
    } else {
        None
    };
    match app.feeds.get(&app.store, &defs, base.as_ref(), &doc) {
        Ok(Some(r)) => (route, respond::cached(req.headers(), &r)),
        Ok(None) => not_found("not found\n"),
        Err(e) => {
            tracing::error!("rendering {path}: {e}");
            (
                route,
                plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
            )
        }
    }
}

/// `?limit=N`: 1 to the topic's `max` (larger values are capped), default
/// `default`.
fn limit_param(query: Option<&str>, default: usize, max: usize) -> Result<usize, String> {
    let Some(q) = query else { return Ok(default) };
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        if k == "limit" {
            return match v.parse::<usize>() {
                Ok(0) | Err(_) => Err(format!("limit must be a number from 1 to {max}\n")),
                Ok(n) => Ok(n.min(max)),
            };
        }
    }
    Ok(default)
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{DEFAULT_LIMIT, MAX_LIMIT};

    #[test]
    fn limits() {
        assert_eq!(
            limit_param(None, DEFAULT_LIMIT, MAX_LIMIT),
            Ok(DEFAULT_LIMIT)
        );
        assert_eq!(
            limit_param(Some("limit=10"), DEFAULT_LIMIT, MAX_LIMIT),
            Ok(10)
        );
        assert_eq!(
            limit_param(Some("x=1&limit=9999"), DEFAULT_LIMIT, MAX_LIMIT),
            Ok(MAX_LIMIT)
        );
        assert_eq!(
            limit_param(Some("limit=80"), 20, 20),
            Ok(20),
            "a topic's cap"
        );
        assert!(limit_param(Some("limit=0"), DEFAULT_LIMIT, MAX_LIMIT).is_err());
        assert!(limit_param(Some("limit=abc"), DEFAULT_LIMIT, MAX_LIMIT).is_err());
    }
}
