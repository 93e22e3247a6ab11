//! The admin views' guard against token guessing: failed attempts per
//! client, slowed past a burst (see [`Guard`]). It is state the running
//! server shares (kept in [`super::App`], counted on `/metrics`), apart
//! from the views in [`crate::server::admin`] that consult it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

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
    pub fn wait(&self, ip: IpAddr) -> Option<Duration> {
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
    pub fn failed(&self, ip: IpAddr) {
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

    /// Counts a request answered `429` without its token looked at.
    pub fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
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
