//! Who may render on a cache miss, and how many at once.
//!
//! A miss renders on the blocking pool (from the store to compressed
//! bytes: milliseconds, up to tens of them for a query), so misses are
//! what a stranger can drive: a few render at once ([`MAX_RENDERS_IN_FLIGHT`]
//! slots), a bounded number wait ([`MAX_RENDERS_QUEUED`]), one client holds
//! at most a share of that queue ([`MAX_RENDERS_QUEUED_PER_CLIENT`]), and
//! the rest are refused with a `503` rather than queued without end. This
//! is apart from the document cache ([`super::FeedCache`]), which only
//! hands out its queue: admission is about requests, the cache about bytes.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::tally::{Held, Tally};

/// Renders on a cache miss at once (each runs on the blocking pool; more
/// requests wait for a slot).
pub const MAX_RENDERS_IN_FLIGHT: usize = 2;
/// Requests that may wait for a render slot (or hold one) at once; past
/// it, a request that needs a render is refused with `503` and
/// `Retry-After` instead of queueing without end (64 clients looping
/// fresh queries once made every render wait 20 s).
pub const MAX_RENDERS_QUEUED: usize = 32;
/// Places in that queue one client may hold (its address, IPv6 by /64):
/// one client cannot take the whole queue from the others.
pub const MAX_RENDERS_QUEUED_PER_CLIENT: usize = 8;

/// The render slots and the queue in front of them.
pub(super) struct RenderQueue {
    /// Renders on a cache miss running now, at most
    /// [`MAX_RENDERS_IN_FLIGHT`].
    slots: Arc<Semaphore>,
    /// Requests waiting for a render slot or holding one, at most
    /// [`MAX_RENDERS_QUEUED`]; and those refused past it.
    queued: Arc<AtomicUsize>,
    /// The same queue counted per client ([`MAX_RENDERS_QUEUED_PER_CLIENT`]).
    by_client: Tally<IpAddr>,
    refused: AtomicU64,
}

/// A place in the render queue ([`super::FeedCache::queue_for_render`]),
/// given back when dropped.
pub struct RenderTicket(Arc<AtomicUsize>, #[allow(dead_code)] Held<IpAddr>);

impl Drop for RenderTicket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl RenderQueue {
    pub(super) fn new() -> RenderQueue {
        RenderQueue {
            slots: Arc::new(Semaphore::new(MAX_RENDERS_IN_FLIGHT)),
            queued: Arc::default(),
            by_client: Default::default(),
            refused: AtomicU64::new(0),
        }
    }

    pub(super) fn slots(&self) -> &Arc<Semaphore> {
        &self.slots
    }

    /// A place in the queue for `client`, or `None` when the queue or the
    /// client's share of it is full (the refusal is counted).
    pub(super) fn enter(&self, client: IpAddr) -> Option<RenderTicket> {
        let Some(share) = self
            .by_client
            .try_take(crate::tally::unit(client), MAX_RENDERS_QUEUED_PER_CLIENT)
        else {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let queue = self.queued.clone();
        let taken = queue
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_RENDERS_QUEUED).then_some(n + 1)
            })
            .is_ok();
        if taken {
            Some(RenderTicket(queue, share))
        } else {
            self.refused.fetch_add(1, Ordering::Relaxed);
            None
        }
    }

    /// Requests in the queue now, and those refused since start.
    pub(super) fn state(&self) -> (usize, u64) {
        (
            self.queued.load(Ordering::Acquire),
            self.refused.load(Ordering::Relaxed),
        )
    }

    /// Renders running now.
    pub(super) fn in_flight(&self) -> usize {
        MAX_RENDERS_IN_FLIGHT - self.slots.available_permits()
    }
}
