//! `/admin/…`: views for the operator only, behind a bearer token.
//!
//! Off unless an admin token is configured (`--admin-token` /
//! `FEEDLOOM_ADMIN_TOKEN`): then every `/admin/` path is a plain 404, as if
//! it did not exist. With a token, a request without
//! `Authorization: Bearer TOKEN` gets 401. The one view is
//! `/admin/explain?q=REFERENCE`: what `feedloom explain` prints for an entry
//! id, link or arXiv id, from the live store and the definitions in force.
//!
//! Looking an entry up by link may scan the store, so the work runs on the
//! blocking pool, never on the threads that serve feeds.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use sha2::{Digest, Sha256};

use super::{plain, Body};
use crate::state::App;

/// Paths under this prefix are admin views.
pub const PREFIX: &str = "/admin/";

/// Compares the presented token with the configured one in constant time
/// (over digests, so neither the content nor the length leaks by timing).
fn token_matches(presented: &[u8], configured: &str) -> bool {
    let a = Sha256::digest(presented);
    let b = Sha256::digest(configured.as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn authorized(req: &Request<Incoming>, configured: &str) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .is_some_and(|token| token_matches(token.as_bytes(), configured))
}

/// Answers a request whose path starts with [`PREFIX`].
pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Response<Body> {
    let Some(configured) = app.options.admin_token.clone() else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if !authorized(&req, &configured) {
        let mut r = plain(StatusCode::UNAUTHORIZED, "admin token required\n");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"feedloom admin\""),
        );
        return r;
    }
    if req.uri().path() != "/admin/explain" {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    }
    let reference = req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "q")
            .map(|(_, v)| v.trim().to_string())
    });
    let Some(reference) = reference.filter(|r| !r.is_empty()) else {
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
        Ok(Err(e)) => {
            tracing::error!("admin explain: {e}");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
        }
        Err(e) => {
            tracing::error!("admin explain task: {e}");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        let t = "correct horse battery staple";
        assert!(token_matches(t.as_bytes(), t));
        assert!(!token_matches(b"correct horse battery stapl", t));
        assert!(!token_matches(b"", t));
        assert!(!token_matches(b"Correct horse battery staple", t));
    }
}
