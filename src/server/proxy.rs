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

/// The client's address as the trusted proxy in front saw it: the last
/// element of `X-Forwarded-For`, or else the last `for=` of `Forwarded`
/// (each proxy appends the address it was connected from, so elements
/// before the last are the client's own say). `None` when neither holds
/// an IP address (`for=unknown`, an obfuscated name): the proxy's own
/// address applies.
pub fn forwarded_for(headers: &HeaderMap) -> Option<std::net::IpAddr> {
    let last = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
    };
    if let Some(addr) = last("x-forwarded-for") {
        return parse_node(addr);
    }
    let element = last("forwarded")?;
    let node = element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
    })?;
    parse_node(node.trim_matches('"'))
}

/// An RFC 7239 node, `192.0.2.60`, `192.0.2.60:4711`, `[2001:db8::1]` or
/// `[2001:db8::1]:4711`, as its address.
fn parse_node(node: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    node.rsplit_once(':')?.0.parse().ok()
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

    #[test]
    fn the_client_address_is_the_one_the_proxy_appended() {
        let of = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.append(*k, v.parse().unwrap());
            }
            forwarded_for(&h).map(|ip| ip.to_string())
        };
        assert_eq!(of(&[]), None);
        // What the client claims comes first; the proxy's own view last.
        assert_eq!(
            of(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7")]).as_deref(),
            Some("198.51.100.7")
        );
        assert_eq!(
            of(&[
                ("x-forwarded-for", "1.2.3.4"),
                ("x-forwarded-for", "2001:db8::1")
            ])
            .as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            of(&[(
                "forwarded",
                "for=1.2.3.4, for=\"[2001:db8::1]:4711\";proto=https"
            )])
            .as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            of(&[("forwarded", "for=192.0.2.60:8080")]).as_deref(),
            Some("192.0.2.60")
        );
        assert_eq!(of(&[("forwarded", "for=unknown")]), None);
        assert_eq!(of(&[("x-forwarded-for", "not an address")]), None);
    }
}
