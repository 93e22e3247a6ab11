//! Reading an upstream's response headers: what it says about waiting
//! (`Retry-After`, `RateLimit`), freshness (`Cache-Control`, `Expires`),
//! its validators and content type.
//!
//! Every header is untrusted text: a value that does not parse is read as
//! absent, never as an error, and each function takes `now` so none reads
//! the clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{
    HeaderMap, HeaderName, CACHE_CONTROL, CONTENT_TYPE, DATE, ETAG, EXPIRES, LAST_MODIFIED,
    RETRY_AFTER,
};
use reqwest::StatusCode;

use super::policy::DEFAULT_BACKOFF;
use super::{Meta, Validators};

/// What a final answer's headers say, besides the body.
pub(super) fn meta(status: StatusCode, headers: &HeaderMap, now: DateTime<Utc>) -> Meta {
    Meta {
        status: status.as_u16(),
        final_url: None,
        content_type: header(headers, CONTENT_TYPE),
        validators: Validators {
            etag: header(headers, ETAG),
            last_modified: header(headers, LAST_MODIFIED),
        },
        fresh_for: freshness(headers, now),
        moved_to: None,
    }
}

/// How long the host asks us to leave it alone: a 429 or 503 that names
/// a delay ([`retry_delay`]), or a 429 that names none
/// ([`DEFAULT_BACKOFF`]). A 503 without a delay is an outage, not a
/// request to slow down.
pub(super) fn pause_asked(
    status: StatusCode,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Option<Duration> {
    match status {
        StatusCode::TOO_MANY_REQUESTS => Some(retry_delay(headers, now).unwrap_or(DEFAULT_BACKOFF)),
        StatusCode::SERVICE_UNAVAILABLE => retry_delay(headers, now),
        _ => None,
    }
}

/// How long the upstream asks us to wait: `Retry-After` in seconds or as an
/// HTTP-date (RFC 9110 §10.2.3), else the reset time `t=` of the IETF
/// `RateLimit` header (Hugging Face sends `"api";r=0;t=55`), else the older
/// `RateLimit-Reset` / `X-RateLimit-Reset` seconds.
pub fn retry_delay(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(v) = header(headers, RETRY_AFTER) {
        let v = v.trim();
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Some(at) = crate::dates::parse_http_date(v) {
            return Some((at - now).to_std().unwrap_or_default());
        }
    }
    if let Some(v) = headers.get("ratelimit").and_then(|v| v.to_str().ok()) {
        let t = v
            .split([';', ','])
            .map(str::trim)
            .find_map(|p| p.strip_prefix("t="));
        if let Some(secs) = t.and_then(|t| t.trim().parse::<u64>().ok()) {
            return Some(Duration::from_secs(secs));
        }
    }
    ["ratelimit-reset", "x-ratelimit-reset"]
        .iter()
        .filter_map(|h| headers.get(*h)?.to_str().ok()?.trim().parse::<u64>().ok())
        // Some APIs send an epoch time here, not seconds.
        .find(|&n| n < 86_400)
        .map(Duration::from_secs)
}

/// How long a response stays fresh (RFC 9111 §4.2.1): `Cache-Control:
/// max-age`, else `Expires` minus `Date` (or now); `no-cache` / `no-store`
/// mean zero.
pub fn freshness(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(cc) = header(headers, CACHE_CONTROL) {
        let cc = cc.to_ascii_lowercase();
        if cc.contains("no-cache") || cc.contains("no-store") {
            return Some(Duration::ZERO);
        }
        for directive in cc.split(',').map(str::trim) {
            if let Some(v) = directive.strip_prefix("max-age=") {
                if let Ok(secs) = v.trim_matches('"').parse::<u64>() {
                    return Some(Duration::from_secs(secs));
                }
            }
        }
    }
    let expires = crate::dates::parse_http_date(&header(headers, EXPIRES)?)?;
    let date = header(headers, DATE)
        .and_then(|d| crate::dates::parse_http_date(&d))
        .unwrap_or(now);
    Some((expires - date).to_std().unwrap_or_default())
}

/// A header's value as text, if it is text.
pub(super) fn header(headers: &HeaderMap, name: HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn now() -> DateTime<Utc> {
        "2026-11-27T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn retry_delays() {
        let d = |pairs: &[(&'static str, &str)]| retry_delay(&headers(pairs), now());
        assert_eq!(d(&[("retry-after", "120")]), Some(Duration::from_secs(120)));
        assert_eq!(
            d(&[("retry-after", "Fri, 27 Nov 2026 12:05:00 GMT")]),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            d(&[("ratelimit", "\"api\";r=0;t=55")]),
            Some(Duration::from_secs(55))
        );
        assert_eq!(
            d(&[("ratelimit-reset", "30")]),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            d(&[("x-ratelimit-reset", "1795000000")]),
            None,
            "an epoch is not a delay"
        );
        assert_eq!(d(&[]), None);
    }

    #[test]
    fn pauses_asked_for() {
        let p = |status: u16, pairs: &[(&'static str, &str)]| {
            pause_asked(
                StatusCode::from_u16(status).unwrap(),
                &headers(pairs),
                now(),
            )
        };
        let two_minutes = [("retry-after", "120")];
        assert_eq!(p(429, &two_minutes), Some(Duration::from_secs(120)));
        assert_eq!(p(503, &two_minutes), Some(Duration::from_secs(120)));
        assert_eq!(p(429, &[]), Some(DEFAULT_BACKOFF));
        assert_eq!(p(503, &[]), None, "an outage");
        assert_eq!(p(500, &two_minutes), None);
        assert_eq!(p(200, &two_minutes), None);
    }

    #[test]
    fn freshness_from_cache_headers() {
        let f = |pairs: &[(&'static str, &str)]| freshness(&headers(pairs), now());
        assert_eq!(
            f(&[("cache-control", "public, max-age=600")]),
            Some(Duration::from_secs(600))
        );
        assert_eq!(f(&[("cache-control", "no-cache")]), Some(Duration::ZERO));
        assert_eq!(
            f(&[
                ("expires", "Fri, 27 Nov 2026 13:00:00 GMT"),
                ("date", "Fri, 27 Nov 2026 12:30:00 GMT")
            ]),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(
            f(&[("expires", "Fri, 27 Nov 2026 12:10:00 GMT")]),
            Some(Duration::from_secs(600))
        );
        assert_eq!(f(&[("expires", "0")]), None);
        assert_eq!(f(&[]), None);
    }

    #[test]
    fn meta_from_headers() {
        let h = headers(&[
            ("content-type", "application/rss+xml"),
            ("etag", "\"v1\""),
            ("last-modified", "Fri, 27 Nov 2026 11:00:00 GMT"),
            ("cache-control", "max-age=60"),
        ]);
        let m = meta(StatusCode::OK, &h, now());
        assert_eq!(m.status, 200);
        assert_eq!(m.content_type.as_deref(), Some("application/rss+xml"));
        assert_eq!(m.validators.etag.as_deref(), Some("\"v1\""));
        assert_eq!(
            m.validators.last_modified.as_deref(),
            Some("Fri, 27 Nov 2026 11:00:00 GMT")
        );
        assert_eq!(m.fresh_for, Some(Duration::from_secs(60)));
    }
}
