//! The HTTP server (hyper 1, HTTP/1.1 and h2c). Requests only ever read
//! cached bytes: rendering happens when topics change (see
//! [`crate::render::FeedCache`]).
//!
//! Routes: `/`, `/healthz`, `/readyz`, `/{topic}.rss`, `/{topic}.atom`;
//! `GET` and `HEAD` only.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;

use crate::app::App;
use crate::render::{Format, Rendered, DEFAULT_LIMIT, MAX_LIMIT};

/// A client that has not sent its request head by then is dropped, so slow
/// clients cannot hold connections forever.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
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
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
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
                    async move { Ok::<_, Infallible>(handle(&app, req)) }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection ended with error: {e}");
                    }
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

/// Routes one request.
pub fn handle(app: &App, req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let path = req.uri().path();
    match path {
        "/" => match app.feeds.index() {
            Some(r) => cached(&req, &r),
            None => plain(StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
        },
        "/healthz" => plain(StatusCode::OK, "ok\n"),
        // Ready once every source has been polled once since start.
        "/readyz" if app.ready.load(std::sync::atomic::Ordering::SeqCst) => {
            plain(StatusCode::OK, "ready\n")
        }
        "/readyz" => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: first poll running\n",
        ),
        _ => feed(app, &req, path),
    }
}

fn feed(app: &App, req: &Request<Incoming>, path: &str) -> Response<Body> {
    let Some((topic, format)) = path
        .strip_prefix('/')
        .and_then(|p| p.rsplit_once('.'))
        .and_then(|(t, ext)| Format::from_extension(ext).map(|f| (t, f)))
    else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    let limit = match limit_param(req.uri().query()) {
        Ok(l) => l,
        Err(msg) => return plain(StatusCode::BAD_REQUEST, &msg),
    };
    if app.defs.rules.topic(topic).is_none() {
        return plain(StatusCode::NOT_FOUND, &format!("unknown topic `{topic}`\n"));
    }
    match app
        .feeds
        .get(&app.poller.store, &app.defs.rules, topic, format, limit)
    {
        Ok(Some(r)) => cached(req, &r),
        Ok(None) => plain(StatusCode::NOT_FOUND, &format!("unknown topic `{topic}`\n")),
        Err(e) => {
            tracing::error!("rendering {path}: {e}");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
        }
    }
}

/// `?limit=N`: 1 to [`MAX_LIMIT`] (larger values are capped), default
/// [`DEFAULT_LIMIT`].
fn limit_param(query: Option<&str>) -> Result<usize, String> {
    let Some(q) = query else {
        return Ok(DEFAULT_LIMIT);
    };
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        if k == "limit" {
            return match v.parse::<usize>() {
                Ok(0) | Err(_) => Err(format!("limit must be a number from 1 to {MAX_LIMIT}\n")),
                Ok(n) => Ok(n.min(MAX_LIMIT)),
            };
        }
    }
    Ok(DEFAULT_LIMIT)
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::copy_from_slice(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A cached body with its validators; `304 Not Modified` when the client's
/// copy is current. RFC 9110 §13.2.2: `If-None-Match` is evaluated first,
/// and when present `If-Modified-Since` is ignored.
fn cached(req: &Request<Incoming>, r: &Rendered) -> Response<Body> {
    let not_modified = match req.headers().get(header::IF_NONE_MATCH) {
        Some(inm) => inm.to_str().is_ok_and(|v| etag_matches(v, &r.etag)),
        None => req
            .headers()
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .is_some_and(|since| r.last_modified.timestamp() <= since.timestamp()),
    };
    let mut resp = if not_modified {
        let mut resp = Response::new(Full::new(Bytes::new()));
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        resp
    } else {
        let mut resp = Response::new(Full::new(r.body.clone()));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(r.content_type),
        );
        resp
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&r.etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&http_date(r.last_modified)) {
        h.insert(header::LAST_MODIFIED, v);
    }
    resp
}

/// Weak comparison over an `If-None-Match` list (RFC 9110 §13.1.2).
fn etag_matches(header: &str, etag: &str) -> bool {
    let ours = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == ours)
}

/// IMF-fixdate (RFC 9110 §5.6.7).
fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(limit_param(None), Ok(DEFAULT_LIMIT));
        assert_eq!(limit_param(Some("limit=10")), Ok(10));
        assert_eq!(limit_param(Some("x=1&limit=9999")), Ok(MAX_LIMIT));
        assert!(limit_param(Some("limit=0")).is_err());
        assert!(limit_param(Some("limit=abc")).is_err());
    }

    #[test]
    fn etag_lists() {
        assert!(etag_matches("\"a\", \"b\"", "\"b\""));
        assert!(etag_matches("W/\"b\"", "\"b\""));
        assert!(etag_matches("*", "\"b\""));
        assert!(!etag_matches("\"c\"", "\"b\""));
    }
}
