//! Content distribution (§7): when a subscribed feed changes, each of its
//! subscribers gets a POST of the whole new document, with its
//! `Content-Type`, `Link` headers naming the hub and the topic, and, when
//! the subscriber gave a secret, `X-Hub-Signature: sha256=…` (an HMAC of
//! the body).
//!
//! What is owed is kept in the store (`store/subscriptions.rs`), so a
//! restart or a crash delivers it after. A failed delivery is tried again
//! after [`FIRST_RETRY`], doubling up to [`MAX_RETRY_GAP`] with ±25 %
//! jitter, for at most [`GIVE_UP_AFTER`]; a `410 Gone` ends the
//! subscription. A slow or dead callback delays no one else: deliveries run
//! at most [`MAX_DELIVERIES_IN_FLIGHT`] at once and
//! [`MAX_DELIVERIES_PER_ADDRESS`] per callback address, each given
//! [`DELIVERY_TIMEOUT`], and no answer is read beyond its status.
//!
//! SECURITY: a delivery goes only to the address its subscriber confirmed
//! (`Subscription::address`): a callback name re-pointed after the
//! verification (at a third party, say) gets nothing sent there; its
//! deliveries fail, and are given up, until a renewal confirms the new
//! address.
//!
//! Each subscription gets a document once: a delivery is started only for
//! what is owed as stored at that moment (the list the worker walks may be
//! older than a delivery that just finished), and a document equal to the
//! one delivered last is not sent again.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};
use url::Url;

use super::limits::{self, unit, Tally};
use super::{callback_shown, Documents, Hub};
use crate::render::Format;
use crate::store::{Pending, Subscription};

/// Deliveries under way at once.
pub const MAX_DELIVERIES_IN_FLIGHT: usize = 32;
/// Deliveries under way at once to callbacks at one address (an IPv4
/// address or an IPv6 /64), whatever their host names.
pub const MAX_DELIVERIES_PER_ADDRESS: usize = 2;
/// How long a callback may take to take a delivery.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// The first retry of a failed delivery comes after this...
pub const FIRST_RETRY: Duration = Duration::from_secs(2);
/// ...doubling each time up to this...
pub const MAX_RETRY_GAP: Duration = Duration::from_secs(3600);
/// ...and a delivery owed longer than this is dropped.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The longest the worker sleeps without looking at what is owed.
const IDLE_CHECK: Duration = Duration::from_secs(60);

/// What the delivery worker shares with the deliveries it starts.
#[derive(Default)]
pub(super) struct Flight {
    /// Subscriptions (their store keys' parts) being delivered to now.
    busy: Mutex<HashSet<(String, String, String)>>,
    /// Deliveries under way per callback address (by host name for a
    /// subscription stored before addresses were kept).
    pub(super) per_address: Tally<Callee>,
}

/// What deliveries are counted by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Callee {
    Address(std::net::IpAddr),
    Host(String),
}

/// How a delivery went, when it did.
enum Delivered {
    /// Sent, and taken: the document's digest, and the address it went to.
    Sent {
        digest: String,
        address: std::net::IpAddr,
    },
    /// The subscriber has this document already.
    Unchanged,
}

impl Hub {
    /// Notes that these feeds changed: each of their subscribers is owed a
    /// delivery, which the worker ([`Hub::deliver_forever`]) makes.
    pub fn changed(&self, feeds: &[(String, Format)]) {
        if feeds.is_empty() {
            return;
        }
        let now = Utc::now();
        let mut owed = 0;
        for (topic, format) in feeds {
            let subs = match self.store.subscriptions(Some(topic)) {
                Ok(subs) => subs,
                Err(e) => {
                    tracing::error!("websub: cannot read the subscriptions of {topic}: {e}");
                    continue;
                }
            };
            for sub in subs
                .iter()
                .filter(|s| s.format == format.extension() && s.expires > now)
            {
                match self.store.owe_delivery(sub, now) {
                    Ok(()) => owed += 1,
                    Err(e) => tracing::error!("websub: cannot note a delivery: {e}"),
                }
            }
        }
        if owed > 0 {
            // What is owed survives a crash from here on.
            if let Err(e) = self.store.flush() {
                tracing::error!("websub: cannot flush the deliveries owed: {e}");
            }
            self.wake.notify_one();
        }
    }

    /// Makes the deliveries owed, as they fall due, until the task is
    /// dropped. `docs` gives the current documents.
    pub async fn deliver_forever(self: Arc<Self>, docs: Arc<dyn Documents>) {
        // The definitions may have made a topic private while the server
        // was down.
        self.forget_unserved(&*docs);
        loop {
            let next = self.start_due(&docs);
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(next) => {}
            }
        }
    }

    /// Starts every due delivery there is room for; how long until the
    /// next one falls due.
    fn start_due(self: &Arc<Self>, docs: &Arc<dyn Documents>) -> Duration {
        let owed = match self.store.owed_deliveries() {
            Ok(owed) => owed,
            Err(e) => {
                tracing::error!("websub: cannot read the deliveries owed: {e}");
                return IDLE_CHECK;
            }
        };
        let now = Utc::now();
        let mut next = IDLE_CHECK;
        for (sub, pending) in owed {
            if pending.due > now {
                next = next.min((pending.due - now).to_std().unwrap_or_default());
                continue;
            }
            let id = (sub.topic.clone(), sub.format.clone(), sub.callback.clone());
            if self.flight.busy.lock().expect("busy lock").contains(&id) {
                continue;
            }
            let callee = match sub.address {
                Some(a) => Callee::Address(unit(a)),
                None => Callee::Host(
                    Url::parse(&sub.callback)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_string))
                        .unwrap_or_default(),
                ),
            };
            let Some(address_slot) = self
                .flight
                .per_address
                .try_take(callee, MAX_DELIVERIES_PER_ADDRESS)
            else {
                continue;
            };
            let Ok(slot) = self.delivering.clone().try_acquire_owned() else {
                break;
            };
            self.flight
                .busy
                .lock()
                .expect("busy lock")
                .insert(id.clone());
            // The list above was read before deliveries that finished since
            // then settled: start only what the store owes now (issue 26,
            // #8: 38–46 % of ~200 subscribers got one change twice).
            let fresh = match self.store.owed_now(&sub) {
                Ok(Some((sub, pending))) if pending.due <= now => Some((sub, pending)),
                Ok(_) => None,
                Err(e) => {
                    tracing::error!("websub: cannot read a delivery owed: {e}");
                    None
                }
            };
            let Some((sub, pending)) = fresh else {
                self.flight.busy.lock().expect("busy lock").remove(&id);
                continue;
            };
            let (hub, docs) = (self.clone(), docs.clone());
            tokio::spawn(async move {
                hub.deliver(&sub, &pending, docs).await;
                hub.flight.busy.lock().expect("busy lock").remove(&id);
                drop((slot, address_slot));
                hub.wake.notify_one();
            });
        }
        next
    }

    /// One try of one delivery, and what is owed after it.
    async fn deliver(&self, sub: &Subscription, tried: &Pending, docs: Arc<dyn Documents>) {
        let shown = callback_shown(&sub.callback);
        let outcome = self.post(sub, docs).await;
        let c = &self.counters;
        let next = match outcome {
            Ok(Delivered::Sent { digest, address }) => {
                c.delivered.fetch_add(1, Ordering::Relaxed);
                let noted = self.store.update_subscription(sub, |s| {
                    s.delivered = Some(digest.clone());
                    s.address.get_or_insert(address);
                });
                if let Err(e) = noted {
                    tracing::error!("websub: cannot note a delivery: {e}");
                }
                None
            }
            Ok(Delivered::Unchanged) => None,
            Err(Failure::Gone) => {
                tracing::info!(
                    "websub: {shown} answered 410: its subscription to {} ends",
                    sub.topic_url
                );
                self.end_subscription(sub);
                return;
            }
            Err(Failure::NoDocument) => {
                // Not served publicly any more (made private, or removed):
                // nothing will ever be delivered, the subscription ends.
                tracing::info!(
                    "websub: {} is not served publicly: the subscription of {shown} ends",
                    sub.topic_url
                );
                self.end_subscription(sub);
                return;
            }
            Err(Failure::Failed(why)) => {
                c.failed.fetch_add(1, Ordering::Relaxed);
                let now = Utc::now();
                if now - tried.since > chrono::Duration::from_std(GIVE_UP_AFTER).unwrap_or_default()
                {
                    tracing::warn!(
                        "websub: gave up delivering {} to {shown}: {why}",
                        sub.topic_url
                    );
                    c.gave_up.fetch_add(1, Ordering::Relaxed);
                    None
                } else {
                    let attempts = tried.attempts + 1;
                    let due =
                        now + chrono::Duration::from_std(retry_gap(attempts)).unwrap_or_default();
                    tracing::info!(
                        "websub: delivering {} to {shown} failed ({why}); try {} at {due}",
                        sub.topic_url,
                        attempts + 1
                    );
                    Some(Pending {
                        due,
                        attempts,
                        ..tried.clone()
                    })
                }
            }
        };
        if let Err(e) = self.store.settle_delivery(sub, tried, next) {
            tracing::error!("websub: cannot note a delivery: {e}");
        }
    }

    /// Removes `sub` (it ends: gone, or its topic no longer public).
    fn end_subscription(&self, sub: &Subscription) {
        if let Err(e) = self
            .store
            .remove_subscription(&sub.topic, &sub.format, &sub.callback)
        {
            tracing::error!("websub: cannot remove a subscription: {e}");
        }
    }

    async fn post(
        &self,
        sub: &Subscription,
        docs: Arc<dyn Documents>,
    ) -> Result<Delivered, Failure> {
        let format = Format::from_extension(&sub.format).ok_or(Failure::NoDocument)?;
        let base = base_of(sub).ok_or(Failure::NoDocument)?;
        let (topic, b) = (sub.topic.clone(), base.clone());
        let doc = tokio::task::spawn_blocking(move || docs.document(&topic, format, &b))
            .await
            .map_err(|e| Failure::Failed(format!("rendering failed: {e}")))?
            .map_err(|e| Failure::Failed(format!("rendering failed: {e}")))?
            .ok_or(Failure::NoDocument)?;
        let digest = crate::text::hex(&Sha256::digest(&doc.body));
        if sub.delivered.as_deref() == Some(digest.as_str()) {
            return Ok(Delivered::Unchanged);
        }
        let callback = Url::parse(&sub.callback).map_err(|_| Failure::Gone)?;
        let target = limits::resolve(&callback, self.options.allow_private)
            .await
            .map_err(Failure::Failed)?;
        let pin = match sub.address {
            Some(confirmed) if !target.addrs.contains(&confirmed.to_canonical()) => {
                return Err(Failure::Failed(format!(
                    "its host no longer resolves to {confirmed}, the address that confirmed \
                     the subscription; nothing is sent elsewhere until a renewal confirms another"
                )))
            }
            want => self.pins.pin(&target, want),
        };
        let pin = pin.ok_or_else(|| {
            Failure::Failed("its host is being called at another address just now".into())
        })?;
        let hub_url = self.hub_url(&base);
        let mut req = self
            .client
            .post(callback)
            .timeout(DELIVERY_TIMEOUT)
            .header("Content-Type", doc.content_type)
            .header(
                "Link",
                format!(
                    "<{hub_url}>; rel=\"hub\", <{}>; rel=\"self\"",
                    sub.topic_url
                ),
            );
        if let Some(secret) = &sub.secret {
            req = req.header(
                "X-Hub-Signature",
                format!("sha256={}", sign(secret, &doc.body)),
            );
        }
        let resp = req
            .body(doc.body.clone())
            .send()
            .await
            .map_err(|e| Failure::Failed(crate::urls::redact_urls(&e.to_string())))?;
        let address = pin.addr;
        drop(pin);
        match resp.status().as_u16() {
            200..=299 => Ok(Delivered::Sent { digest, address }),
            410 => Err(Failure::Gone),
            s => Err(Failure::Failed(format!("the callback answered {s}"))),
        }
    }
}

/// Why a delivery did not happen.
enum Failure {
    /// The subscriber said the subscription is over (410).
    Gone,
    /// The topic is not served publicly (any more): nothing to deliver.
    NoDocument,
    Failed(String),
}

/// The public base a subscription's topic URL was given under.
fn base_of(sub: &Subscription) -> Option<Url> {
    let path = format!("{}.{}", sub.topic, sub.format);
    let base = sub.topic_url.strip_suffix(&path)?;
    Url::parse(base).ok()
}

/// The wait before try `attempts + 1`: [`FIRST_RETRY`] doubled per failed
/// try, at most [`MAX_RETRY_GAP`], ±25 % so retries of many callbacks
/// spread.
fn retry_gap(attempts: u32) -> Duration {
    let gap = FIRST_RETRY
        .saturating_mul(1u32 << attempts.saturating_sub(1).min(20))
        .min(MAX_RETRY_GAP);
    let mut r = [0u8; 2];
    let jitter = match getrandom::getrandom(&mut r) {
        Ok(()) => f64::from(u16::from_le_bytes(r)) / f64::from(u16::MAX) * 0.5 - 0.25,
        Err(_) => 0.0,
    };
    gap.mul_f64(1.0 + jitter)
}

/// `X-Hub-Signature`'s value after `sha256=`: the HMAC-SHA256 of `body`
/// keyed by `secret`, in hex.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    crate::text::hex(&mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_with_jitter_up_to_the_cap() {
        for (attempts, base) in [(1, 2.0), (2, 4.0), (3, 8.0), (30, 3600.0)] {
            let g = retry_gap(attempts).as_secs_f64();
            assert!(g >= base * 0.74 && g <= base * 1.26, "{attempts}: {g}");
        }
    }

    #[test]
    fn signatures_are_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
