//! The HTTP clients feedloom makes its own requests with (reqwest, our
//! resolver for public hops), and reqwest's errors read as [`FetchError`].
//!
//! One place builds them so every request, the poller's, `add`'s, the
//! WebSub hub's, says who we are, gives up connecting after
//! [`CONNECT_TIMEOUT`] and follows no redirect by itself: redirects are
//! followed hop by hop (`redirect.rs`), each under its host's rules and
//! the address guard.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use super::guard::{PublicOnly, INTERNAL_ONLY};
use super::FetchError;

/// Sent with every request, so upstream admins can see who polls them and
/// where to complain.
pub const USER_AGENT: &str = concat!(
    "feedloom/",
    env!("CARGO_PKG_VERSION"),
    " (feed aggregator; +https://github.com/feedloom/feedloom)"
);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What hyper-util's connector says when the resolver failed
/// (`ConnectError::dns` in `client/legacy/connect/http.rs`); its error type
/// is private, so its message is what tells a name that did not resolve
/// from a connection that failed.
const DNS_FAILED: &str = "dns error";

/// An HTTP client for requests feedloom makes on its own: our user agent,
/// the connect timeout, no redirects followed (callers follow them hop by
/// hop, or not at all). With `public_only`, it cannot connect to internal
/// addresses ([`super::is_internal`]) whatever a name resolves to when it
/// connects; literal IP hosts are the caller's to check.
pub fn outbound_client(public_only: bool) -> Result<reqwest::Client, FetchError> {
    // reqwest is built without a default crypto provider (ring keeps the
    // build lean); installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none());
    if public_only {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder.build().map_err(|e| FetchError::Other(chain(&e)))
}

/// A reqwest error as the fetch error it is; `timeout` is the fetch's
/// whole budget, which the message names.
pub(super) fn classify(e: reqwest::Error, timeout: Duration) -> FetchError {
    // The poller names the URL already.
    let e = e.without_url();
    if e.is_timeout() {
        FetchError::Timeout(timeout)
    } else if e.is_connect() {
        let message = chain(&e);
        // Our own resolver's refusal (see [`PublicOnly`]): not a network
        // fault to retry.
        if message.contains(INTERNAL_ONLY) {
            FetchError::Internal(message)
        } else if message.contains(DNS_FAILED) {
            FetchError::Dns(message)
        } else {
            FetchError::Connect(message)
        }
    } else {
        FetchError::Other(chain(&e))
    }
}

/// The error and its causes on one line: reqwest's top-level message alone
/// ("error sending request") says nothing useful.
fn chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let msg = c.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cause = c.source();
    }
    out
}
