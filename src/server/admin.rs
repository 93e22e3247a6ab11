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
//! compared), and guesses are slowed per client ([`Guard`]): 4,872 wrong
//! tokens a second were answered on one connection before.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::{plain, Body};
use crate::state::App;

/// Paths under this prefix are admin views.
pub const PREFIX: &str = "/admin/";

/// Requests without the right token a client may make in a row before it
/// is slowed down...
pub const FAILURE_BURST: u32 = 5;
/// ...to one more every this long (answered `429` with `Retry-After` in
/// between, the token not looked at).
pub const FAILURE_INTERVAL: Duration = Duration::from_secs(2);
/// Clients whose failures are remembered at once. Past it, a new client
/// shares one allowance with every other newcomer, so spreading guesses
/// over many addresses gains nothing and the table stays a few tens of
/// KiB.
pub const MAX_CLIENTS: usize = 1024;

/// An IPv4 address, or an IPv6 address's /64 (what one host is usually
/// given): who a failure counts against.
fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

/// The admin views' failed attempts, per client: a GCRA, where each
/// failure moves the client's `until` one [`FAILURE_INTERVAL`] later, and
/// a client whose `until` is more than [`FAILURE_BURST`]` - 1` intervals
/// ahead waits.
#[derive(Default)]
pub struct Guard {
    table: Mutex<Table>,
    refused: AtomicU64,
    throttled: AtomicU64,
}

#[derive(Default)]
struct Table {
    /// When each client's allowance is whole again.
    clients: HashMap<IpAddr, tokio::time::Instant>,
    /// The same, shared by every client that found `clients` full.
    newcomers: Option<tokio::time::Instant>,
}

impl Table {
    /// Where `client`'s failures are kept: its own entry (`true`), or the
    /// newcomers' while the table is full of clients still waiting.
    fn own_entry(&mut self, client: IpAddr, now: tokio::time::Instant) -> bool {
        if self.clients.len() < MAX_CLIENTS || self.clients.contains_key(&client) {
            return true;
        }
        // Forget those whose allowance is whole again.
        self.clients.retain(|_, until| *until > now);
        self.clients.len() < MAX_CLIENTS
    }
}

impl Guard {
    /// How long `ip` must wait before its next attempt, if it must.
    fn wait(&self, ip: IpAddr) -> Option<Duration> {
        let now = tokio::time::Instant::now();
        let mut table = self.table.lock().expect("admin guard lock");
        let client = client_of(ip);
        let until = match table.own_entry(client, now) {
            true => table.clients.get(&client).copied(),
            false => table.newcomers,
        }?;
        let free = now + FAILURE_INTERVAL * (FAILURE_BURST - 1);
        (until > free).then(|| until - free)
    }

    /// Counts a request from `ip` without the right token.
    fn failed(&self, ip: IpAddr) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        let now = tokio::time::Instant::now();
        let mut table = self.table.lock().expect("admin guard lock");
        let client = client_of(ip);
        let until = match table.own_entry(client, now) {
            true => table.clients.entry(client).or_insert(now),
            false => table.newcomers.get_or_insert(now),
        };
        *until = (*until).max(now) + FAILURE_INTERVAL;
    }

    pub fn stats(&self) -> crate::metrics::AdminAuthStats {
        crate::metrics::AdminAuthStats {
            refused: self.refused.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            clients: self.table.lock().expect("admin guard lock").clients.len(),
            max_clients: MAX_CLIENTS,
        }
    }
}

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
    use crate::commands::Error;
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
        app.admin_guard.throttled.fetch_add(1, Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn failures_are_allowed_in_a_burst_then_slowed_per_client() {
        let guard = Guard::default();
        for _ in 0..FAILURE_BURST {
            assert_eq!(guard.wait(ip("192.0.2.1")), None);
            guard.failed(ip("192.0.2.1"));
        }
        let wait = guard.wait(ip("192.0.2.1")).expect("slowed");
        assert!(wait > FAILURE_INTERVAL - Duration::from_millis(100) && wait <= FAILURE_INTERVAL);
        // Another address is not; the same IPv6 /64 is one client.
        assert_eq!(guard.wait(ip("192.0.2.2")), None);
        for _ in 0..FAILURE_BURST {
            guard.failed(ip("2001:db8::1"));
        }
        assert!(guard.wait(ip("2001:db8::ffff:1")).is_some());
        assert_eq!(guard.wait(ip("2001:db8:0:1::1")), None);
        // An IPv4-mapped address is its IPv4 address.
        assert!(guard.wait(ip("::ffff:192.0.2.1")).is_some());
        let stats = guard.stats();
        assert_eq!((stats.refused, stats.clients), (10, 2));
    }

    #[test]
    fn past_the_table_newcomers_share_one_allowance() {
        let guard = Guard::default();
        for n in 0..MAX_CLIENTS as u32 {
            guard.failed(IpAddr::from((0x0a00_0000 + n).to_be_bytes()));
        }
        assert_eq!(guard.stats().clients, MAX_CLIENTS);
        // Every one still waiting: newcomers are one client.
        for n in 0..FAILURE_BURST {
            let newcomer = IpAddr::from((0x0b00_0000 + n).to_be_bytes());
            assert_eq!(guard.wait(newcomer), None);
            guard.failed(newcomer);
        }
        assert!(guard.wait(ip("198.51.100.1")).is_some());
        assert_eq!(guard.stats().clients, MAX_CLIENTS);
        // Those remembered keep their own allowance.
        assert_eq!(guard.wait(ip("10.0.0.1")), None);
    }
}
