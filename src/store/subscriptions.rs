//! WebSub subscriptions (see `crate::websub`): who asked to receive which
//! topic feed, until when. Kept in the store so they survive restarts and
//! crashes; the hub owns what they mean, this module only how they are kept.

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
}

impl Store {
    /// Adds or renews a subscription (one per topic, format and callback).
    /// Returns whether it was new.
    pub fn put_subscription(&self, sub: &Subscription) -> Result<bool, StoreError> {
        let key = keys::subscription_key(&sub.topic, &sub.format, &sub.callback);
        let mut sub = sub.clone();
        if let Some(old) = self.subscriptions.get(&key)? {
            if let Ok(old) = serde_json::from_slice::<Subscription>(&old) {
                sub.since = old.since;
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
        Ok(self.subscriptions.remove(key)?.is_some())
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
