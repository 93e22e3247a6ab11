//! `POST /websub`: where subscribers reach the WebSub hub (see
//! [`crate::websub`]). Reads the form (at most
//! [`crate::websub::request::MAX_FORM_BYTES`]) and answers at once: the
//! hub verifies the subscriber's intent afterwards.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::{forwarded_base, plain, proxy, Body};
use crate::state::App;
use crate::websub::request::MAX_FORM_BYTES;
use crate::websub::Refusal;

/// The hub's path under the public base.
pub const PATH: &str = "/websub";
/// How long a subscriber's form may take to arrive, all of it.
pub const FORM_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Response<Body> {
    let Some(hub) = app.hub.clone() else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    if req.method() != Method::POST {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "the WebSub hub takes subscription requests by POST\n",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !form {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be a form (application/x-www-form-urlencoded)\n",
        );
    }
    let base = forwarded_base(&app, req.headers()).unwrap_or_else(|| app.feeds.base_url().clone());
    let peer = req
        .extensions()
        .get::<proxy::Peer>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |p| p.0);
    let client = proxy::client_addr(peer, req.headers(), app.options.trust_proxy);
    // SECURITY: a form that never finishes arriving held its connection
    // as "a request under way" for good, so such connections could take
    // every slot (none is shed while its request runs).
    let read = tokio::time::timeout(
        FORM_READ_TIMEOUT,
        Limited::new(req.into_body(), MAX_FORM_BYTES).collect(),
    );
    let body: Bytes = match read.await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(_)) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the request body is over {MAX_FORM_BYTES} bytes, or broke off\n"),
            )
        }
        Err(_) => {
            let mut r = plain(
                StatusCode::REQUEST_TIMEOUT,
                &format!(
                    "the form did not arrive within {} s\n",
                    FORM_READ_TIMEOUT.as_secs()
                ),
            );
            r.headers_mut().insert(
                hyper::header::CONNECTION,
                hyper::header::HeaderValue::from_static("close"),
            );
            return r;
        }
    };
    let defs = app.defs();
    match hub
        .request(&body, &base, client, |t| {
            defs.rules.public_topic(t).is_some()
        })
        .await
    {
        Ok(()) => plain(
            StatusCode::ACCEPTED,
            "accepted: the callback will be asked to confirm\n",
        ),
        Err(Refusal::BadRequest(why)) => plain(StatusCode::BAD_REQUEST, &format!("{why}\n")),
        Err(Refusal::TooMany) => retry_after(
            StatusCode::TOO_MANY_REQUESTS,
            "too many subscription requests; try again later\n",
            "5",
        ),
        Err(Refusal::Busy(why)) => retry_after(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("{why}; try again later\n"),
            "30",
        ),
    }
}

fn retry_after(status: StatusCode, text: &str, seconds: &'static str) -> Response<Body> {
    let mut r = plain(status, text);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
    r
}
