//! WebSub subscriptions (see `crate::websub`): who asked to receive which
//! topic feed, until when, and the deliveries still owed to them. Kept in
//! the store so they survive restarts and crashes; the hub owns what they
//! mean, this module only how they are kept.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{corrupt, keys, Store, StoreError};

/// One active subscription: a callback receives a topic's feed in one
/// format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub topic: String,
    /// The format's extension (`rss`, `atom`, `json`).
    pub format: String,
    /// The topic URL as the subscriber gave it (sent back as `rel="self"`).
    pub topic_url: String,
    pub callback: String,
    /// SECURITY: never logged or shown; signs each delivery.
    pub secret: Option<String>,
    pub lease_seconds: u64,
    pub expires: DateTime<Utc>,
    /// When first subscribed (a renewal keeps it).
    pub since: DateTime<Utc>,
    /// The address the callback confirmed the subscription at: deliveries
    /// go there and nowhere else, and the hub's caps count by it. `None`
    /// in subscriptions stored before it was kept (the first delivery
    /// notes the address it used).
    #[serde(default)]
    pub address: Option<IpAddr>,
    /// The client that asked for the subscription (the peer, or the
    /// forwarded client behind a trusted proxy), for the per-client cap.
    #[serde(default)]
    pub client: Option<IpAddr>,
    /// The SHA-256 (hex) of the last document delivered: the same
    /// document is not sent twice.
    #[serde(default)]
    pub delivered: Option<String>,
}

/// A delivery owed to a subscription: the feed changed since the
/// subscriber last received it. One per subscription however many changes
/// come meanwhile (the current document is what is sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// When to try next.
    pub due: DateTime<Utc>,
    /// Failed tries so far.
    pub attempts: u32,
    /// When it was first owed (retries stop some time after).
    pub since: DateTime<Utc>,
    /// When the feed last changed: a delivery that started before this
    /// sent an older document, so the delivery stays owed.
    pub changed: DateTime<Utc>,
}

impl Store {
    /// Adds or renews a subscription (one per topic, format and callback).
    /// Returns whether it was new. A renewal keeps when it began and what
    /// was last delivered.
    pub fn put_subscription(&self, sub: &Subscription) -> Result<bool, StoreError> {
        let key = keys::subscription_key(&sub.topic, &sub.format, &sub.callback);
        let mut sub = sub.clone();
        if let Some(old) = self.subscriptions.get(&key)? {
            if let Ok(old) = serde_json::from_slice::<Subscription>(&old) {
                sub.since = old.since;
                sub.delivered = sub.delivered.or(old.delivered);
            }
        }
        let bytes = serde_json::to_vec(&sub).map_err(|e| corrupt(keys::TREE_SUBSCRIPTIONS, e))?;
        Ok(self.subscriptions.insert(key, bytes)?.is_none())
    }

    /// Removes a subscription; returns whether there was one.
    pub fn remove_subscription(
        &self,
        topic: &str,
        format: &str,
        callback: &str,
    ) -> Result<bool, StoreError> {
        let key = keys::subscription_key(topic, format, callback);
        self.pending.remove(&key)?;
        Ok(self.subscriptions.remove(key)?.is_some())
    }

    /// Changes a stored subscription in place; nothing if it is gone
    /// meanwhile (an unsubscription is never undone). Returns whether it
    /// was there.
    pub fn update_subscription(
        &self,
        sub: &Subscription,
        change: impl Fn(&mut Subscription),
    ) -> Result<bool, StoreError> {
        let key = keys::subscription_key(&sub.topic, &sub.format, &sub.callback);
        let before = self.subscriptions.fetch_and_update(&key, |old| {
            let old = old?;
            match serde_json::from_slice::<Subscription>(old) {
                Ok(mut s) => {
                    change(&mut s);
                    Some(serde_json::to_vec(&s).unwrap_or_else(|_| old.to_vec()))
                }
                Err(_) => Some(old.to_vec()),
            }
        })?;
        Ok(before.is_some())
    }

    /// The subscription and the delivery owed to it as stored now (`None`
    /// when nothing is owed, or the subscription is gone).
    pub fn owed_now(
        &self,
        sub: &Subscription,
    ) -> Result<Option<(Subscription, Pending)>, StoreError> {
        let key = keys::subscription_key(&sub.topic, &sub.format, &sub.callback);
        let Some(pending) = self.pending_at(&key)? else {
            return Ok(None);
        };
        match self.subscriptions.get(&key)? {
            Some(v) => Ok(Some((
                serde_json::from_slice(&v).map_err(|e| corrupt(keys::TREE_SUBSCRIPTIONS, e))?,
                pending,
            ))),
            None => Ok(None),
        }
    }

    /// Notes that `sub`'s feed changed at `at`: a delivery is owed now,
    /// unless one is already owed (then it sends the newer document; a
    /// retry keeps its schedule).
    pub fn owe_delivery(&self, sub: &Subscription, at: DateTime<Utc>) -> Result<(), StoreError> {
        let key = keys::subscription_key(&sub.topic, &sub.format, &sub.callback);
        let pending = match self.pending_at(&key)? {
            Some(mut p) => {
                p.changed = at;
                p
            }
            None => Pending {
                due: at,
                attempts: 0,
                since: at,
                changed: at,
            },
        };
        self.put_pending(&key, &pending)
    }

    /// Every delivery owed, with its subscription (one whose subscription
    /// is gone is dropped).
    pub fn owed_deliveries(&self) -> Result<Vec<(Subscription, Pending)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.pending.iter() {
            let (key, v) = kv?;
            let pending: Pending =
                serde_json::from_slice(&v).map_err(|e| corrupt(keys::TREE_PENDING, e))?;
            match self.subscriptions.get(&key)? {
                Some(sub) => out.push((
                    serde_json::from_slice(&sub)
                        .map_err(|e| corrupt(keys::TREE_SUBSCRIPTIONS, e))?,
                    pending,
                )),
                None => {
                    self.pending.remove(&key)?;
                }
            }
        }
        Ok(out)
    }

    /// Settles an owed delivery after a try: `next` is what is owed now
    /// (`None`: nothing). A change noted while the try ran keeps the
    /// delivery owed, due at once.
    pub fn settle_delivery(
        &self,
        sub: &Subscription,
        tried: &Pending,
        next: Option<Pending>,
    ) -> Result<(), StoreError> {
        let key = keys::subscription_key(&sub.topic, &sub.format, &sub.callback);
        let now = self.pending_at(&key)?;
        let next = match next {
            // Failed: tried again on its schedule, the latest change noted.
            Some(mut p) => {
                if let Some(now) = &now {
                    p.changed = now.changed;
                }
                Some(p)
            }
            // Delivered, but the feed changed while it was being sent.
            None => now
                .filter(|now| now.changed != tried.changed)
                .map(|now| Pending {
                    due: now.changed,
                    attempts: 0,
                    since: now.changed,
                    changed: now.changed,
                }),
        };
        match next {
            Some(p) => self.put_pending(&key, &p),
            None => {
                self.pending.remove(&key)?;
                Ok(())
            }
        }
    }

    fn pending_at(&self, key: &[u8]) -> Result<Option<Pending>, StoreError> {
        match self.pending.get(key)? {
            Some(v) => Ok(Some(
                serde_json::from_slice(&v).map_err(|e| corrupt(keys::TREE_PENDING, e))?,
            )),
            None => Ok(None),
        }
    }

    fn put_pending(&self, key: &[u8], p: &Pending) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(p).map_err(|e| corrupt(keys::TREE_PENDING, e))?;
        self.pending.insert(key, bytes)?;
        Ok(())
    }

    /// The subscriptions of `topic` (every format), or of every topic.
    pub fn subscriptions(&self, topic: Option<&str>) -> Result<Vec<Subscription>, StoreError> {
        let prefix = topic.map(keys::subscription_prefix).unwrap_or_default();
        self.subscriptions
            .scan_prefix(prefix)
            .map(|kv| {
                let (_, v) = kv?;
                serde_json::from_slice(&v).map_err(|e| corrupt(keys::TREE_SUBSCRIPTIONS, e))
            })
            .collect()
    }

    /// Removes the subscriptions (and what is owed to them) of the topics
    /// `keep` refuses; returns them.
    pub fn remove_subscriptions_unless(
        &self,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<Subscription>, StoreError> {
        let mut gone = Vec::new();
        for sub in self.subscriptions(None)? {
            if !keep(&sub.topic)
                && self.remove_subscription(&sub.topic, &sub.format, &sub.callback)?
            {
                gone.push(sub);
            }
        }
        Ok(gone)
    }

    /// Removes the subscriptions whose lease ended by `now`; returns them.
    pub fn expire_subscriptions(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Subscription>, StoreError> {
        let mut gone = Vec::new();
        for sub in self.subscriptions(None)? {
            if sub.expires <= now
                && self.remove_subscription(&sub.topic, &sub.format, &sub.callback)?
            {
                gone.push(sub);
            }
        }
        Ok(gone)
    }
}
