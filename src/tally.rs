//! Work under way counted per key: a client's address, a callback's
//! address. Shared by the bounds per client and per address of the server
//! ([`crate::render`]'s render queue) and the WebSub hub
//! ([`crate::websub`]).
//!
//! IPv6 addresses count by their /64 (one host, or one customer of a
//! provider, holds a whole /64); IPv4-mapped IPv6 addresses count as the
//! IPv4 address they carry. A key leaves its table with its last unit of
//! work, so a table holds at most as many keys as work is under way.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// The unit an address is counted in: an IPv4 address, or an IPv6 /64.
pub fn unit(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Work under way per key, each key at most a given number.
pub struct Tally<K> {
    counts: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K> Default for Tally<K> {
    fn default() -> Self {
        Tally {
            counts: Arc::default(),
        }
    }
}

/// One unit of work counted for a key; uncounted when dropped (the key
/// leaves the table with its last unit).
pub struct Held<K: Hash + Eq> {
    counts: Arc<Mutex<HashMap<K, usize>>>,
    key: Option<K>,
}

impl<K: Hash + Eq + Clone> Tally<K> {
    /// Counts one more for `key`, unless it has `most` already.
    pub fn try_take(&self, key: K, most: usize) -> Option<Held<K>> {
        let mut counts = self.counts.lock().expect("tally lock");
        let n = counts.entry(key.clone()).or_insert(0);
        if *n >= most {
            if *n == 0 {
                counts.remove(&key);
            }
            return None;
        }
        *n += 1;
        Some(Held {
            counts: self.counts.clone(),
            key: Some(key),
        })
    }

    /// Keys with work under way.
    pub fn len(&self) -> usize {
        self.counts.lock().expect("tally lock").len()
    }

    /// Whether no key has work under way.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Hash + Eq> Drop for Held<K> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut counts = self.counts.lock().expect("tally lock");
        if let Some(n) = counts.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&key);
            }
        }
    }
}
