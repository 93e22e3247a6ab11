//! What the store keeps of each source and upstream host between polls
//! and restarts: a source's state (health, counts, validators for the next
//! conditional GET, when it is due, repairs), and the hosts that asked,
//! by `Retry-After`, not to be contacted for a while.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{corrupt, keys, Store, StoreError};
use crate::fetch::Validators;

/// How the last failure of a source looked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceError {
    /// `dns`, `connect`, `timeout`, `http_status`, `html_page`,
    /// `not_a_feed`, `malformed`... (the index words them: see
    /// [`crate::render::failures`]).
    pub kind: String,
    pub status: Option<u16>,
    pub message: String,
    pub at: DateTime<Utc>,
    /// Where in the document reading failed, when the error says: the
    /// index shows the place, never the message (which may quote the
    /// document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<crate::repairs::Location>,
}

/// Counts of one poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollCounts {
    /// Items the upstream listed.
    pub fetched: u64,
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Items dropped as empty.
    pub skipped: u64,
}

/// What feedloom remembers of a source between polls and restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceState {
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<SourceError>,
    pub consecutive_failures: u32,
    pub last_counts: PollCounts,
    /// The HTTP status the last poll ended with (`304`: the upstream said
    /// nothing changed; none when no response came).
    pub last_status: Option<u16>,
    /// Entries first stored from this source, ever.
    pub entries_added: u64,
    pub validators: Validators,
    /// The source definition the validators were stored under.
    pub validators_for: String,
    /// When the source is due next (interval, upstream freshness, back-off
    /// and `Retry-After` applied); kept across restarts.
    pub next_poll: Option<DateTime<Utc>>,
    /// Items the last poll that listed any listed: an empty listing after
    /// a full one is flagged as a probable extraction breakage.
    pub last_listed: u64,
    /// Where a permanent redirect pointed last (logged once per change).
    pub moved_to: Option<String>,
    /// Since when the source has been healthy, or failing with the current
    /// error: the index shows it, and it moves only on a change of state.
    pub health_since: Option<DateTime<Utc>>,
    /// The last successful poll read the source only in part (a Hugging
    /// Face page from its cards): what is missing. `/status` and the index
    /// show the source as degraded.
    pub degraded: Option<String>,
    /// What the last successful poll had to repair to read the source (a
    /// bare `&`, a date in the wrong form, a document cut short): while
    /// there are any, `/status`, the index and `/metrics` show the source
    /// as *recovered*, so the operator can tell the upstream what to fix.
    pub repairs: SourceRepairs,
    /// `fulltext` was on at the last full listing: the entries listed then,
    /// old ones included, were owed their articles. False while `fulltext`
    /// is off, so switching it on owes the listed entries once.
    pub articles_backfilled: bool,
}

/// The repairs of a source's last successful poll, as kept between polls:
/// all counted, the first few as one line each (see
/// [`crate::repairs::Repairs`] for the full record a poll makes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceRepairs {
    pub count: u64,
    /// The first repairs, each one printable line with its place
    /// (`line 3, col 18: unescaped '&' read as '&amp;'`).
    pub first: Vec<String>,
}

impl SourceRepairs {
    /// The source was read only with repairs.
    pub fn any(&self) -> bool {
        self.count > 0
    }
}

impl Store {
    pub fn source_state(&self, source: &str) -> Result<SourceState, StoreError> {
        match self.source_state.get(source.as_bytes())? {
            Some(v) => serde_json::from_slice(&v).map_err(|e| corrupt(keys::TREE_SOURCE_STATE, e)),
            None => Ok(SourceState::default()),
        }
    }

    pub fn put_source_state(&self, source: &str, state: &SourceState) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(state).map_err(|e| corrupt(keys::TREE_SOURCE_STATE, e))?;
        self.source_state.insert(source.as_bytes(), bytes)?;
        Ok(())
    }

    /// Records that `host` asked not to be contacted before `until`.
    pub fn put_host_block(&self, host: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        self.host_block
            .insert(host.as_bytes(), &keys::time_bytes(until))?;
        Ok(())
    }

    /// Hosts that asked not to be contacted before a time still ahead.
    pub fn host_blocks(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.host_block.iter() {
            let (k, v) = kv?;
            let until = v
                .as_ref()
                .try_into()
                .ok()
                .and_then(keys::time_from_bytes)
                .ok_or_else(|| corrupt(keys::TREE_HOST_BLOCK, "bad time"))?;
            if until > now {
                out.push((String::from_utf8_lossy(&k).into_owned(), until));
            }
        }
        Ok(out)
    }
}
