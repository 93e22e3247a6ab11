//! Answering from a cached [`Rendered`] document: content coding chosen from
//! `Accept-Encoding`, and conditional requests answered with `304`.
//!
//! Everything here reads prebuilt bytes and header values; nothing is
//! rendered, compressed or formatted per request.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

use crate::render::Rendered;

/// A content coding we can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    Br,
}

/// Picks the coding from `Accept-Encoding` (RFC 9110 §12.5.3): the
/// highest q-value among the codings this document has, brotli winning a
/// tie (smaller), identity unless the client refuses it outright.
pub fn negotiate(accept: Option<&HeaderValue>, r: &Rendered) -> Coding {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return Coding::Identity;
    };
    let (mut br, mut gzip, mut star) = (None::<f32>, None::<f32>, None::<f32>);
    for part in accept.split(',') {
        let mut it = part.split(';');
        let name = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match name.as_str() {
            "br" => br = Some(q),
            "gzip" | "x-gzip" => gzip = Some(q),
            "*" => star = Some(q),
            _ => {}
        }
    }
    let br = if r.br.is_some() {
        br.or(star).unwrap_or(0.0)
    } else {
        0.0
    };
    let gzip = if r.gzip.is_some() {
        gzip.or(star).unwrap_or(0.0)
    } else {
        0.0
    };
    if br > 0.0 && br >= gzip {
        Coding::Br
    } else if gzip > 0.0 {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

/// Whether the client's copy is current. RFC 9110 §13.2.2: `If-None-Match`
/// is evaluated first, and when present `If-Modified-Since` is ignored.
/// ETags compare weakly (§8.8.3.2) and any representation of the same bytes
/// matches: a client holding the gzip copy has the same document.
///
/// The list is read by hand, not with the `headers` crate: that was slower
/// on lists and debug-asserts on malformed ones (the request fuzzer found a
/// space inside a tag). Dates go through `httpdate`, which reads all three
/// HTTP date formats (§5.6.7).
pub fn not_modified(headers: &HeaderMap, r: &Rendered) -> bool {
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        let Ok(list) = inm.to_str() else { return false };
        let ours = [&r.headers.etag, &r.headers.etag_gzip, &r.headers.etag_br];
        return list.split(',').map(str::trim).any(|tag| {
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            tag == "*" || ours.iter().any(|o| o.as_bytes() == tag.as_bytes())
        });
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::dates::parse_http_date)
        // Whole seconds, as HTTP dates are.
        .is_some_and(|since| r.last_modified.timestamp() <= since.timestamp())
}

/// The response for a cached document.
pub fn cached(headers: &HeaderMap, r: &Rendered) -> Response<Full<Bytes>> {
    let coding = negotiate(headers.get(header::ACCEPT_ENCODING), r);
    let (body, etag) = match coding {
        Coding::Identity => (&r.body, &r.headers.etag),
        Coding::Gzip => (r.gzip.as_ref().expect("negotiated"), &r.headers.etag_gzip),
        Coding::Br => (r.br.as_ref().expect("negotiated"), &r.headers.etag_br),
    };
    let fresh = not_modified(headers, r);
    let mut resp = Response::new(Full::new(if fresh { Bytes::new() } else { body.clone() }));
    let h = resp.headers_mut();
    if fresh {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
    } else {
        h.insert(header::CONTENT_TYPE, r.headers.content_type.clone());
        match coding {
            Coding::Identity => {}
            Coding::Gzip => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            Coding::Br => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            }
        }
    }
    let h = resp.headers_mut();
    h.insert(header::ETAG, etag.clone());
    h.insert(header::LAST_MODIFIED, r.headers.last_modified.clone());
    h.insert(header::CACHE_CONTROL, r.headers.cache_control.clone());
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn doc() -> Rendered {
        Rendered::new(
            "<rss/>".repeat(200).into_bytes(),
            "application/rss+xml; charset=utf-8",
            chrono::Utc::now(),
            Duration::from_secs(60),
        )
    }

    fn neg(accept: &str) -> Coding {
        negotiate(Some(&HeaderValue::from_str(accept).unwrap()), &doc())
    }

    #[test]
    fn codings_by_q_value() {
        assert_eq!(negotiate(None, &doc()), Coding::Identity);
        assert_eq!(neg("gzip"), Coding::Gzip);
        assert_eq!(neg("gzip, deflate, br"), Coding::Br);
        assert_eq!(neg("br;q=0.5, gzip;q=0.8"), Coding::Gzip);
        assert_eq!(neg("br;q=0, gzip"), Coding::Gzip);
        assert_eq!(neg("gzip;q=0"), Coding::Identity);
        assert_eq!(neg("*"), Coding::Br);
        assert_eq!(neg("*;q=0.3, br;q=0"), Coding::Gzip);
        assert_eq!(neg("deflate, identity"), Coding::Identity);
        assert_eq!(neg("GZIP;Q=1"), Coding::Gzip);
    }

    fn conditional(pairs: &[(&'static str, &str)], r: &Rendered) -> bool {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        not_modified(&h, r)
    }

    #[test]
    fn conditional_requests_by_rfc_9110() {
        let at = chrono::DateTime::parse_from_rfc3339("1994-11-06T08:49:37Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let r = Rendered::new(
            b"<rss/>".repeat(200),
            "text/xml",
            at,
            Duration::from_secs(60),
        );
        let gz = r.headers.etag_gzip.to_str().unwrap().to_string();
        // Any representation's tag, weak or strong, in a list, or `*`.
        assert!(conditional(&[("if-none-match", &gz)], &r));
        assert!(conditional(
            &[("if-none-match", &format!("\"x\", W/{gz}"))],
            &r
        ));
        assert!(conditional(&[("if-none-match", "*")], &r));
        assert!(!conditional(&[("if-none-match", "\"other\"")], &r));
        // A malformed member (a tab or space inside quotes, the request
        // fuzzer's find for the `headers` crate) spoils nothing else.
        assert!(conditional(
            &[("if-none-match", &format!("\"a\tb\", \"c d\", W/{gz}"))],
            &r
        ));
        // All three date formats a recipient must accept (§5.6.7).
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert!(conditional(&[("if-modified-since", date)], &r), "{date}");
        }
        assert!(!conditional(
            &[("if-modified-since", "Sun, 06 Nov 1994 08:49:36 GMT")],
            &r
        ));
        assert!(!conditional(&[("if-modified-since", "yesterday")], &r));
        // If-None-Match present wins over If-Modified-Since, even unreadable.
        let late = "Mon, 07 Nov 1994 00:00:00 GMT";
        assert!(!conditional(
            &[("if-none-match", "\"other\""), ("if-modified-since", late)],
            &r
        ));
        assert!(!conditional(
            &[("if-none-match", "unquoted"), ("if-modified-since", late)],
            &r
        ));
    }

    #[test]
    fn tiny_documents_are_not_compressed() {
        let r = Rendered::new(
            b"ok".to_vec(),
            "text/plain",
            chrono::Utc::now(),
            Duration::from_secs(60),
        );
        assert!(r.gzip.is_none() && r.br.is_none());
        assert_eq!(
            negotiate(Some(&HeaderValue::from_static("br, gzip")), &r),
            Coding::Identity
        );
    }
}
