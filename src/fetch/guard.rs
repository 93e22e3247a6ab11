//! The address guard: which hops may reach the operator's own network.
//!
//! SECURITY: a feed, a link in one of its items or a redirect names any
//! address a stranger likes, `127.0.0.1`, `169.254.169.254` (cloud
//! metadata) and the LAN included. Whether a fetch may reach inside is
//! decided from the definitions as written, never from DNS: only a source
//! declared `internal = true`, or a hop on the origin of a configured URL
//! whose host is itself an internal address or `localhost`. Every other hop
//! is guarded twice: an internal address written as a literal is refused
//! before connecting ([`refuse_internal_literal`]), and names are resolved
//! by [`PublicOnly`], which drops internal addresses from every answer at
//! the moment of connecting (so DNS rebinding cannot get in either).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use url::Url;

use super::{FetchError, FetchRequest};

/// Whether `ip` is in the operator's own network or otherwise not a public
/// internet address: loopback, RFC 1918 and RFC 4193 private ranges,
/// link-local (cloud metadata at 169.254.169.254), CGNAT (100.64/10),
/// unspecified, broadcast, multicast and documentation ranges; IPv4 inside
/// IPv6 (mapped, compatible, NAT64) is judged as IPv4.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            // ::a.b.c.d (deprecated compatible) and 64:ff9b::/96 (NAT64).
            if seg[..6] == [0; 6] || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let v4 = ipv4_in(seg[6], seg[7]);
                return v6.is_loopback() || v6.is_unspecified() || is_internal(IpAddr::V4(v4));
            }
            // 6to4 (2002::/16) carries an IPv4 address in its next 32 bits,
            // which a relay may reach: judged as that address.
            if seg[0] == 0x2002 {
                return is_internal(IpAddr::V4(ipv4_in(seg[1], seg[2])));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                // Site-local (fec0::/10, deprecated but still routed inside).
                || (seg[0] & 0xffc0) == 0xfec0
                || seg[0] == 0x2001 && seg[1] == 0x0db8
                // Teredo (2001::/32): a tunnel to an address it hides.
                || seg[0] == 0x2001 && seg[1] == 0
                // Local-use NAT64 (64:ff9b:1::/48, RFC 8215): the
                // operator's own translator.
                || seg[..3] == [0x64, 0xff9b, 1]
        }
    }
}

/// The IPv4 address in two IPv6 segments.
fn ipv4_in(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// Whether `url` names an internal address itself: an internal IP literal,
/// `localhost` or a name under `.localhost`. Read from the text, never
/// from DNS.
pub fn names_inside(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

/// Whether one hop of `req` to `url` may connect to an internal address:
/// the source is declared `internal`, or the operator's configured URL
/// names an internal address and `url` is on its origin (a redirect or a
/// link to another port or host of the operator's network is a
/// stranger's choice, and guarded).
pub(super) fn may_reach_inside(req: &FetchRequest<'_>, url: &Url) -> bool {
    let configured = req.linked_from.unwrap_or(req.url);
    req.internal || (names_inside(configured) && url.origin() == configured.origin())
}

/// A guarded hop to an internal address written as a literal, or to
/// `localhost` (DNS is not asked for those, so [`PublicOnly`] cannot
/// filter them).
pub(super) fn refuse_internal_literal(url: &Url) -> Result<(), FetchError> {
    if names_inside(url) {
        return Err(FetchError::RedirectRefused(
            url.clone(),
            "into the operator's own network, outside the origin the definitions name",
        ));
    }
    Ok(())
}

/// What [`PublicOnly`] says of a name with internal addresses only (and
/// how its refusal is told from a network fault).
pub(super) const INTERNAL_ONLY: &str = "resolves only to internal addresses";

/// DNS for public sources: internal addresses are dropped from every
/// answer, at the moment of connecting, so a name that resolves publicly
/// when checked and internally when used (DNS rebinding) still cannot
/// reach the operator's network.
pub(super) struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_internal(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{host} {INTERNAL_ONLY}, which a public source may not reach (a source in your own network says `internal = true`)"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::ffff:10.0.0.1",
            // Site-local, 6to4 of 127.0.0.1 and of 10.0.0.1, local-use
            // NAT64, Teredo.
            "fec0::1",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "64:ff9b:1::a9fe:a9fe",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "1.1.1.1",
            "140.82.112.3",
            "2606:4700::1111",
            "100.128.0.1",
            // 6to4 of a public address; an ordinary 2001: address.
            "2002:808:808::1",
            "2001:4860:4860::8888",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    // SECURITY: locality is read from the configured URL's text, never
    // from DNS; a literal inside is refused on a guarded hop.
    #[test]
    fn urls_that_name_inside() {
        for (url, inside) in [
            ("http://127.0.0.1:8080/feed", true),
            ("http://[::1]/", true),
            ("http://LOCALHOST./x", true),
            ("http://a.localhost/", true),
            ("http://10.1.2.3/", true),
            ("http://localhost.example.org/", false),
            ("http://vm/", false),
            ("https://example.org/", false),
        ] {
            let url = Url::parse(url).unwrap();
            assert_eq!(names_inside(&url), inside, "{url}");
            assert_eq!(refuse_internal_literal(&url).is_err(), inside, "{url}");
        }
    }

    #[test]
    fn only_the_configured_origin_reaches_inside() {
        let local = Url::parse("http://127.0.0.1:8080/feed").unwrap();
        let public = Url::parse("https://example.org/feed").unwrap();
        let at = |s: &str| Url::parse(s).unwrap();
        let req = FetchRequest::new(&local);
        assert!(may_reach_inside(&req, &at("http://127.0.0.1:8080/next")));
        assert!(!may_reach_inside(&req, &at("http://127.0.0.1:9/")));
        assert!(!may_reach_inside(&req, &at("http://10.0.0.1/")));
        // A link found in a local source's feed: judged by that source.
        let linked = FetchRequest {
            linked_from: Some(&local),
            ..FetchRequest::new(&public)
        };
        assert!(may_reach_inside(&linked, &at("http://127.0.0.1:8080/a")));
        assert!(!may_reach_inside(&FetchRequest::new(&public), &local));
        let declared = FetchRequest {
            internal: true,
            ..FetchRequest::new(&public)
        };
        assert!(may_reach_inside(&declared, &at("http://10.0.0.1/")));
    }

    #[tokio::test]
    async fn dns_answers_lose_internal_addresses() {
        let err = reqwest::dns::Resolve::resolve(&PublicOnly, "localhost".parse().unwrap())
            .await
            .err()
            .expect("localhost is internal");
        assert!(err.to_string().contains(INTERNAL_ONLY), "{err}");
    }
}
