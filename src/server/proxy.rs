//! The public base URL of a request behind a trusted reverse proxy.
//!
//! SECURITY: forwarded headers are client-controlled unless a proxy in
//! front overwrites them, and they end up in every link of a feed. They are
//! read only when the admin says a proxy is trusted (`--trust-proxy`), and
//! what they yield must parse as an http(s) base URL made of a host, an
//! optional port and a plain path prefix; anything else is ignored.

use hyper::header::HeaderMap;
use url::Url;

/// The public base a request was made to, from RFC 7239 `Forwarded` (the
/// first, client-side element) or else `X-Forwarded-Proto`,
/// `X-Forwarded-Host` and `X-Forwarded-Prefix`. `None` when the request
/// carries none of them (or nothing usable): the configured base applies.
///
/// Fields the headers leave out come from `fallback` (the configured base),
/// so a proxy that only sends `X-Forwarded-Prefix` keeps the configured
/// scheme and host.
///
/// SECURITY: a proxy that passes the client's `Host` on (nginx's
/// `$http_host`) lets any client choose the host of every link, and each
/// invented host was a document of its own in the cache. A forwarded host
/// must be the fallback's or one of `allowed` (`host` or `host:port`, lower
/// case); any other gives `None`, the configured base.
pub fn forwarded_base(headers: &HeaderMap, fallback: &Url, allowed: &[String]) -> Option<Url> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let (mut proto, mut host) = (None::<String>, None::<String>);
    if let Some(fwd) = get("forwarded") {
        // `Forwarded: for=…;proto=https;host=example.org, for=…` — the first
        // element was added by the proxy closest to the client.
        let first = fwd.split(',').next().unwrap_or("");
        for pair in first.split(';') {
            if let Some((k, v)) = pair.split_once('=') {
                let v = v.trim().trim_matches('"').to_string();
                match k.trim().to_ascii_lowercase().as_str() {
                    "proto" => proto = Some(v),
                    "host" => host = Some(v),
                    _ => {}
                }
            }
        }
    }
    let first = |v: &str| v.split(',').next().unwrap_or("").trim().to_string();
    proto = proto.or_else(|| get("x-forwarded-proto").map(first));
    host = host.or_else(|| get("x-forwarded-host").map(first));
    let prefix = get("x-forwarded-prefix").map(first);
    if proto.is_none() && host.is_none() && prefix.is_none() {
        return None;
    }
    let proto = proto
        .unwrap_or_else(|| fallback.scheme().to_string())
        .to_ascii_lowercase();
    if proto != "http" && proto != "https" {
        return None;
    }
    let host = match host {
        Some(h) => h,
        None => match (fallback.host_str(), fallback.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return None,
        },
    };
    // A host is a name or address with an optional port: nothing that could
    // add a path, userinfo or markup.
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    {
        return None;
    }
    let prefix = match prefix {
        Some(p) => {
            let p = p.trim_matches('/');
            if !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~'))
                || p.split('/').any(|seg| seg == "..")
            {
                return None;
            }
            if p.is_empty() {
                "/".to_string()
            } else {
                format!("/{p}/")
            }
        }
        None => fallback.path().to_string(),
    };
    let url = Url::parse(&format!("{proto}://{host}{prefix}")).ok()?;
    let authority = |u: &Url| match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => String::new(),
    };
    let named = authority(&url);
    let known = named == authority(fallback) || allowed.contains(&named);
    (known && url.host_str().is_some() && url.query().is_none()).then_some(url)
}

/// The address a connection came from (a request extension the server
/// adds).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::IpAddr);

/// The client a request counts for, in bounds per client: the peer, or
/// behind a trusted proxy (`trusted`) the last address of
/// `X-Forwarded-For`.
///
/// SECURITY: the last element is the one the proxy next to us wrote (nginx's
/// `$proxy_add_x_forwarded_for` and Caddy append the peer they saw to what
/// the client sent); anything before it is the client's to choose. Only
/// `X-Forwarded-For` counts: proxies pass a client's own `Forwarded` header
/// on untouched. Without a usable one, the peer (the proxy) is the client.
pub fn client_addr(peer: std::net::IpAddr, headers: &HeaderMap, trusted: bool) -> std::net::IpAddr {
    if !trusted {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|v| !v.is_empty())
        .and_then(|v| {
            // An address, possibly bracketed or with a port.
            v.parse()
                .ok()
                .or_else(|| v.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
                .or_else(|| {
                    v.trim_start_matches('[')
                        .split(']')
                        .next()
                        .and_then(|h| h.parse().ok())
                })
        })
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn base(pairs: &[(&'static str, &str)]) -> Option<String> {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        let allowed = [
            "example.org".to_string(),
            "example.org:8443".into(),
            "a.example".into(),
        ];
        forwarded_base(&h, &Url::parse("http://127.0.0.1:8080/").unwrap(), &allowed)
            .map(String::from)
    }

    #[test]
    fn the_client_is_the_last_forwarded_address_when_trusted() {
        let peer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
            h
        };
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let h = with("198.51.100.9, 203.0.113.7");
        assert_eq!(client_addr(peer, &h, false), peer, "untrusted: the peer");
        assert_eq!(client_addr(peer, &h, true), ip("203.0.113.7"));
        assert_eq!(
            client_addr(peer, &with("[2001:db8::1]:443"), true),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_addr(peer, &with("203.0.113.7:5000"), true),
            ip("203.0.113.7")
        );
        assert_eq!(client_addr(peer, &with("unknown"), true), peer);
        assert_eq!(client_addr(peer, &HeaderMap::new(), true), peer);
    }

    #[test]
    fn only_allowed_hosts() {
        for host in ["evil.example", "example.org:9999", "EXAMPLE.org.evil"] {
            assert_eq!(
                base(&[("x-forwarded-host", host), ("x-forwarded-proto", "https")]),
                None,
                "{host}"
            );
        }
        assert_eq!(
            base(&[("x-forwarded-host", "Example.ORG")]).as_deref(),
            Some("http://example.org/"),
            "host names compare without case"
        );
        assert_eq!(
            base(&[
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "127.0.0.1:8080")
            ])
            .as_deref(),
            Some("https://127.0.0.1:8080/"),
            "the base URL's own host is always allowed"
        );
    }

    #[test]
    fn x_forwarded_headers() {
        assert_eq!(base(&[]), None);
        assert_eq!(
            base(&[
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "example.org"),
                ("x-forwarded-prefix", "/feeds")
            ])
            .as_deref(),
            Some("https://example.org/feeds/")
        );
        assert_eq!(
            base(&[("x-forwarded-prefix", "/feeds/")]).as_deref(),
            Some("http://127.0.0.1:8080/feeds/")
        );
        assert_eq!(
            base(&[
                ("x-forwarded-host", "a.example, proxy.internal"),
                ("x-forwarded-proto", "https, http")
            ])
            .as_deref(),
            Some("https://a.example/")
        );
    }

    #[test]
    fn rfc_7239_forwarded() {
        assert_eq!(
            base(&[(
                "forwarded",
                "for=192.0.2.60;proto=https;host=\"example.org:8443\", for=10.0.0.1"
            )])
            .as_deref(),
            Some("https://example.org:8443/")
        );
        assert_eq!(
            base(&[
                ("forwarded", "proto=https;host=example.org"),
                ("x-forwarded-prefix", "/f")
            ])
            .as_deref(),
            Some("https://example.org/f/")
        );
    }

    #[test]
    fn hostile_values_are_ignored() {
        for pairs in [
            vec![("x-forwarded-host", "evil.example/phish?x=")],
            vec![("x-forwarded-host", "a\"onmouseover=x")],
            vec![("x-forwarded-proto", "javascript")],
            vec![("x-forwarded-prefix", "/a/../../etc")],
            vec![("x-forwarded-prefix", "/<script>")],
            vec![("x-forwarded-host", "user@evil.example")],
        ] {
            assert_eq!(base(&pairs), None, "{pairs:?}");
        }
    }
}
