//! What the hub counts its bounds by: the address a callback resolves to
//! (the one it then connects to) and the client that asked.
//!
//! SECURITY: counting by host name let one address take every cap once per
//! name (issue 26, #6: 100 names of one IP passed the per-host cap, and one
//! change sent 296 POSTs to it). A callback's host is resolved once per
//! request or delivery, the address chosen is counted, and the hub's HTTP
//! client connects to that address and no other ([`Pins`]): a name that
//! answers differently a moment later gains nothing.
//!
//! Addresses count as [`crate::tally::unit`] says (IPv6 by its /64). The
//! tables ([`Tally`], [`Pins`]) hold an entry only while work for it is
//! under way, so they never grow past the hub's in-flight caps.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::Url;

use crate::fetch::is_internal;

/// How long a callback's host may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

pub use crate::tally::{unit, Tally};

/// A callback's host as resolved now.
#[derive(Debug, Clone)]
pub struct Target {
    /// The host name; `None` for an IP literal (connected to as written).
    pub name: Option<String>,
    /// Its addresses, canonical (IPv4-mapped IPv6 as IPv4), in the
    /// resolver's order, without repeats.
    pub addrs: Vec<IpAddr>,
}

/// Resolves a callback's host. Unless `allow_private`, a host with any
/// internal address ([`is_internal`]) is refused.
pub async fn resolve(callback: &Url, allow_private: bool) -> Result<Target, String> {
    let (name, found) = match callback.host() {
        Some(url::Host::Ipv4(ip)) => (None, vec![IpAddr::V4(ip)]),
        Some(url::Host::Ipv6(ip)) => (None, vec![IpAddr::V6(ip)]),
        Some(url::Host::Domain(d)) => {
            let port = callback.port_or_known_default().unwrap_or(80);
            let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((d, port)))
                .await
                .map_err(|_| "hub.callback: its host did not resolve in time".to_string())?
                .map_err(|_| "hub.callback: its host does not resolve".to_string())?
                .map(|a| a.ip())
                .collect();
            (Some(d.to_ascii_lowercase()), found)
        }
        None => return Err("hub.callback has no host".into()),
    };
    let mut addrs: Vec<IpAddr> = Vec::new();
    for ip in found.into_iter().map(|ip| ip.to_canonical()) {
        if !allow_private && is_internal(ip) {
            return Err("hub.callback points to a private or local address".into());
        }
        if !addrs.contains(&ip) {
            addrs.push(ip);
        }
    }
    if addrs.is_empty() {
        return Err("hub.callback: its host does not resolve".into());
    }
    Ok(Target { name, addrs })
}

/// The address each callback host name is being called at now: the hub's
/// HTTP client resolves names only through this table, so every
/// connection goes to the address that was checked and counted.
///
/// A name has one address while any request to it is under way (the
/// client keeps no idle connections, so none outlives its pin by long).
#[derive(Default)]
pub struct Pins {
    names: Mutex<HashMap<String, (IpAddr, usize)>>,
}

/// A request's hold on its callback's address.
pub struct Pin {
    pins: Arc<Pins>,
    name: Option<String>,
    pub addr: IpAddr,
}

impl Pins {
    /// Pins `target` to `want` (one of its addresses), or to its first
    /// address when `want` is `None`. While other requests to the same name
    /// are under way, the name keeps their address: `None` if that is not
    /// one `want` allows.
    pub fn pin(self: &Arc<Self>, target: &Target, want: Option<IpAddr>) -> Option<Pin> {
        let want = want.map(|a| a.to_canonical());
        if want.is_some_and(|a| !target.addrs.contains(&a)) {
            return None;
        }
        let Some(name) = &target.name else {
            let addr = want.or_else(|| target.addrs.first().copied())?;
            return Some(Pin {
                pins: self.clone(),
                name: None,
                addr,
            });
        };
        let mut names = self.names.lock().expect("pins lock");
        let addr = match names.get_mut(name) {
            Some((pinned, n)) => {
                let fits = match want {
                    // A delivery goes to the address its subscriber confirmed.
                    Some(w) => w == *pinned,
                    // A new request takes the address the name has now.
                    None => target.addrs.contains(pinned),
                };
                if !fits {
                    return None;
                }
                *n += 1;
                *pinned
            }
            None => {
                let addr = want.or_else(|| target.addrs.first().copied())?;
                names.insert(name.clone(), (addr, 1));
                addr
            }
        };
        Some(Pin {
            pins: self.clone(),
            name: Some(name.clone()),
            addr,
        })
    }

    /// Names pinned now.
    pub fn len(&self) -> usize {
        self.names.lock().expect("pins lock").len()
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        let Some(name) = self.name.take() else { return };
        let mut names = self.pins.names.lock().expect("pins lock");
        if let Some(entry) = names.get_mut(&name) {
            entry.1 -= 1;
            if entry.1 == 0 {
                names.remove(&name);
            }
        }
    }
}

impl reqwest::dns::Resolve for Pins {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let pinned = self
            .names
            .lock()
            .expect("pins lock")
            .get(&host)
            .map(|(ip, _)| *ip);
        Box::pin(async move {
            match pinned {
                Some(ip) => {
                    Ok(Box::new(std::iter::once(SocketAddr::new(ip, 0))) as reqwest::dns::Addrs)
                }
                // SECURITY: nothing unchecked is connected to.
                None => Err(format!("websub: {host} was not resolved and checked first").into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_count_by_ipv4_or_ipv6_64() {
        assert_eq!(unit(ip("::ffff:127.0.0.1")), ip("127.0.0.1"));
        assert_eq!(unit(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(unit(ip("203.0.113.9")), ip("203.0.113.9"));
    }

    #[test]
    fn a_tally_bounds_each_key_and_forgets_idle_ones() {
        let t = Tally::default();
        let a: Vec<_> = (0..3).filter_map(|_| t.try_take("a", 2)).collect();
        assert_eq!(a.len(), 2, "at most 2 for one key");
        let b = t.try_take("b", 2).unwrap();
        assert_eq!(t.len(), 2);
        drop(a);
        drop(b);
        assert_eq!(t.len(), 0, "keys without work are dropped");
        assert!(t.try_take("c", 0).is_none());
        assert_eq!(t.len(), 0, "a refused key leaves nothing behind");
        // However many keys came and went, the table holds only live ones.
        for i in 0..10_000 {
            drop(t.try_take(i.to_string().leak() as &str, 2));
        }
        assert_eq!(t.len(), 0);
    }

    #[tokio::test]
    async fn a_name_is_called_only_at_its_pinned_address() {
        use reqwest::dns::Resolve as _;
        let pins = Arc::new(Pins::default());
        let target = Target {
            name: Some("cb.example".into()),
            addrs: vec![ip("192.0.2.1"), ip("192.0.2.2")],
        };
        let resolved = |pins: &Arc<Pins>| {
            let pins = pins.clone();
            async move {
                pins.resolve("cb.example".parse().unwrap())
                    .await
                    .map(|a| a.map(|s| s.ip()).collect::<Vec<_>>())
                    .ok()
            }
        };
        assert_eq!(resolved(&pins).await, None, "unpinned names do not resolve");
        let first = pins.pin(&target, None).unwrap();
        assert_eq!(first.addr, ip("192.0.2.1"));
        assert_eq!(resolved(&pins).await, Some(vec![ip("192.0.2.1")]));
        // A delivery for the other address waits until the name is free.
        assert!(pins.pin(&target, Some(ip("192.0.2.2"))).is_none());
        let again = pins.pin(&target, Some(ip("192.0.2.1"))).unwrap();
        // An address the name does not resolve to now is never pinned.
        assert!(pins.pin(&target, Some(ip("198.51.100.7"))).is_none());
        drop((first, again));
        assert_eq!(pins.len(), 0);
        let second = pins.pin(&target, Some(ip("192.0.2.2"))).unwrap();
        assert_eq!(resolved(&pins).await, Some(vec![ip("192.0.2.2")]));
        drop(second);
        assert_eq!(resolved(&pins).await, None);
    }
}
