//! Which polls may start: the one admission `poll --once` and `serve`
//! share, so a cycle and a running server poll under the same bounds.
//!
//! A poll starts once its host could take a request (none in flight, its
//! spacing over: [`Fetcher::wait_turn`]), with at most [`POLLS_PER_HOST`]
//! of a host's polls under way, and only then takes one of
//! [`MAX_CONCURRENT_POLLS`] slots: polls waiting out one host's spacing
//! never hold the slots other hosts' polls need. The fetcher's politeness
//! gate still decides each request; this decides only when a poll begins.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::host_of;
use crate::config::Source;
use crate::fetch::Fetcher;

/// Sources fetched at once, across all hosts.
pub const MAX_CONCURRENT_POLLS: usize = 16;
/// Polls of one host's sources under way at once: its requests still go
/// one at a time, spaced (see [`crate::fetch`]), but one poll's fetch
/// overlaps the previous one's storing instead of the spacing starting
/// only once it is stored.
pub const POLLS_PER_HOST: usize = 2;

/// The slots and per-host turns of one set of definitions' sources.
pub struct Admission {
    slots: Arc<Semaphore>,
    /// Host → its [`POLLS_PER_HOST`] turns; only the sources' hosts, so
    /// bounded by the definitions.
    turns: HashMap<String, Arc<Semaphore>>,
}

/// A poll's place: its host's turn and a slot, given back when dropped.
pub struct Admitted {
    _turn: OwnedSemaphorePermit,
    _slot: OwnedSemaphorePermit,
}

impl Admission {
    /// The admission for polls of `sources`.
    pub fn new(sources: &[Source]) -> Admission {
        let mut turns = HashMap::new();
        for source in sources {
            turns
                .entry(host_of(source))
                .or_insert_with(|| Arc::new(Semaphore::new(POLLS_PER_HOST)));
        }
        Admission {
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT_POLLS)),
            turns,
        }
    }

    /// Waits until a poll of `source` may start (in the order asked, per
    /// host); it holds its place until the [`Admitted`] is dropped.
    ///
    /// Panics if `source` is not one of those this admission was made for.
    pub async fn enter(&self, source: &Source, fetcher: &Fetcher) -> Admitted {
        let host = host_of(source);
        let turns = self
            .turns
            .get(&host)
            .expect("a source of these definitions");
        let turn = turns.clone().acquire_owned().await;
        fetcher.wait_turn(&host).await;
        let slot = self.slots.clone().acquire_owned().await;
        Admitted {
            _turn: turn.expect("semaphore never closed"),
            _slot: slot.expect("semaphore never closed"),
        }
    }
}
