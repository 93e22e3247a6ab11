//! `/admin/…`: views for the operator only, behind a bearer token.
//!
//! Off unless an admin token is configured (`--admin-token` /
//! `FEEDLOOM_ADMIN_TOKEN`): then every `/admin/` path is a plain 404, as if
//! it did not exist. With a token, a request without
//! `Authorization: Bearer TOKEN` gets 401. The views are
//! `/admin/explain?q=REFERENCE`, what `feedloom explain` prints for an entry
//! id, link or arXiv id, from the live store and the definitions in force;
//! and `/admin/token?topic=ID`, a private topic's URLs (`POST`: with a new
//! token), what `feedloom token` prints.
//!
//! Looking an entry up by link may scan the store, so the work runs on the
//! blocking pool, never on the threads that serve feeds.
//!
//! SECURITY: the token is compared as a whole, in constant time
//! ([`crate::secret::equal`]: SHA-256 digests of both, every byte
//! compared), and guesses are slowed per client
//! ([`crate::state::admin_guard::Guard`]): 4,872 wrong
//! tokens a second were answered on one connection before.

use std::net::IpAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::{plain, Body};
use crate::state::App;

/// Paths under this prefix are admin views.
pub const PREFIX: &str = "/admin/";

/// The address failures count against: the peer's, or with
/// `--trust-proxy` the client's as the proxy forwarded it.
fn client_ip(app: &App, req: &Request<Incoming>) -> IpAddr {
    let peer = req
        .extensions()
        .get::<super::proxy::Peer>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0);
    super::proxy::client_addr(peer, req.headers(), app.options.trust_proxy)
}

fn authorized(req: &Request<Incoming>, configured: &str) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .is_some_and(|token| crate::secret::equal(token.as_bytes(), configured.as_bytes()))
}

/// A private topic's URLs: `GET` prints them (making the token if
/// needed), `POST` replaces the token first (what `feedloom token` does,
/// for a server that holds the store).
const TOKEN: &str = "/admin/token";

/// A query parameter's trimmed value, if given and not empty.
fn param(req: &Request<Incoming>, name: &str) -> Option<String> {
    let q = req.uri().query()?;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// `/admin/token?topic=ID`. The answer holds the token: `no-store`, like
/// every admin answer, and never logged.
async fn token(app: Arc<App>, req: &Request<Incoming>, rotate: bool) -> Response<Body> {
    let Some(topic) = param(req, "topic") else {
        return plain(
            StatusCode::BAD_REQUEST,
            "usage: GET /admin/token?topic=ID (POST replaces the token)\n",
        );
    };
    let base =
        super::forwarded_base(&app, req.headers()).unwrap_or_else(|| app.feeds.base_url().clone());
    let live = app.live();
    let store = app.store.clone();
    let made = tokio::task::spawn_blocking(move || {
        crate::commands::token::private_urls(&store, &live.defs, &topic, rotate, &base)
    })
    .await;
    use crate::error::Error;
    match made {
        Ok(Ok(text)) => {
            if rotate {
                // Documents rendered under the old token's base are
                // unreachable now; let them go.
                app.feeds.clear();
            }
            plain(StatusCode::OK, &text)
        }
        Ok(Err(Error::NotFound(m))) => plain(StatusCode::NOT_FOUND, &format!("{m}\n")),
        Ok(Err(Error::Usage(m))) => plain(StatusCode::BAD_REQUEST, &format!("{m}\n")),
        Ok(Err(e)) => internal_error("token", &e),
        Err(e) => internal_error("token task", &e),
    }
}

/// A failure of the server's own (logged; the client learns nothing of it).
fn internal_error(view: &str, e: &dyn std::fmt::Display) -> Response<Body> {
    tracing::error!("admin {view}: {e}");
    plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
}

/// Answers a request whose path starts with [`PREFIX`].
pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Response<Body> {
    let Some(configured) = app.options.admin_token.clone() else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    let rotating = req.method() == Method::POST && req.uri().path() == TOKEN;
    if req.method() != Method::GET && req.method() != Method::HEAD && !rotating {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let ip = client_ip(&app, &req);
    // SECURITY: a throttled client's token is not looked at, right or
    // wrong: otherwise the 429s would only slow the answers, not the
    // guesses.
    if let Some(wait) = app.admin_guard.wait(ip) {
        app.admin_guard.throttled();
        let mut r = plain(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests without the admin token\n",
        );
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        return r;
    }
    if !authorized(&req, &configured) {
        app.admin_guard.failed(ip);
        let mut r = plain(StatusCode::UNAUTHORIZED, "admin token required\n");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"feedloom admin\""),
        );
        return r;
    }
    match req.uri().path() {
        "/admin/explain" => {}
        TOKEN => return token(app, &req, rotating).await,
        _ => return plain(StatusCode::NOT_FOUND, "not found\n"),
    }
    let Some(reference) = param(&req, "q") else {
        return plain(
            StatusCode::BAD_REQUEST,
            "usage: /admin/explain?q=ENTRY_ID|LINK|ARXIV_ID\n",
        );
    };
    let live = app.live();
    let store = app.store.clone();
    let looked_up = tokio::task::spawn_blocking(move || {
        crate::commands::explain::explain_in(&store, &live.defs, &reference)
            .map(|found| found.ok_or_else(|| crate::commands::explain::not_found(&reference)))
    })
    .await;
    match looked_up {
        Ok(Ok(Ok(text))) => plain(StatusCode::OK, &text),
        Ok(Ok(Err(missing))) => plain(StatusCode::NOT_FOUND, &format!("{missing}\n")),
        Ok(Err(e)) => internal_error("explain", &e),
        Err(e) => internal_error("explain task", &e),
    }
}
